// The drawing pad in the browser (an anywidget module; the Python half is mnist_helpers/drawing.py).
//
// A canvas to draw on with a mouse, a pen or a finger (pointer events), and a Clear button. When a
// stroke ends, the drawing goes to Python as _grid x _grid grey levels (one byte per pixel, 0 for
// the background, 255 for ink) in the `_drawing` value. Python prepares the 28x28 image and the
// model predicts; `_prepared` (784 bytes) and `_probabilities` (ten numbers) come back and are shown
// next to the pad. Nothing is loaded from anywhere: the module and its CSS come with the package.

const SIZE = 280; // the canvas, in pixels
const PEN = 20; // the pen's width on the canvas: MNIST-like strokes once the digit is scaled to 20x20

function bytesOf(value) {
  // A binary value from the model (a DataView, or nothing yet) as bytes.
  if (!value || !value.byteLength) return new Uint8Array(0);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function greyToCanvas(context, bytes, size) {
  // Paint size x size grey levels (white ink on black) onto a 2D context of that size.
  const pixels = context.createImageData(size, size);
  bytes.forEach((grey, i) => {
    pixels.data.set([grey, grey, grey, 255], 4 * i);
  });
  context.putImageData(pixels, 0, 0);
}

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function render({ model, el }) {
  const grid = model.get("_grid");
  const root = element("div", "mnist-pad", el);

  const left = element("div", "mnist-pad-column", root);
  const canvas = element("canvas", "mnist-pad-canvas", left);
  canvas.width = canvas.height = SIZE;
  const pen = canvas.getContext("2d");
  const clear = element("button", "mnist-pad-clear jupyter-button", left, "Clear");

  const middle = element("div", "mnist-pad-column", root);
  element("div", "", middle, "what the model gets");
  const prepared = element("canvas", "mnist-pad-prepared", middle);
  prepared.width = prepared.height = 28;

  const right = element("div", "mnist-pad-column", root);
  const guess = element("div", "mnist-pad-guess", right);
  const bars = element("div", "mnist-pad-bars", right);
  const rows = [];
  for (let digit = 0; digit < 10; digit++) {
    element("span", "", bars, String(digit));
    const track = element("div", "", bars);
    track.style.background = "var(--jp-layout-color2, #eee)";
    const bar = element("div", "mnist-pad-bar", track);
    rows.push({ bar, percent: element("span", "mnist-pad-percent", bars) });
  }
  const hint = element("div", "mnist-pad-hint", right, "Draw a digit on the black square; the guess appears as you lift the pen.");
  const message = element("div", "mnist-pad-message", right);

  // The grid the drawing travels in, and what this view last sent (not repainted when it comes back).
  const small = document.createElement("canvas");
  small.width = small.height = grid;
  const smallPen = small.getContext("2d", { willReadFrequently: true });
  let sent = new Uint8Array(0);

  function wipe() {
    pen.fillStyle = "black";
    pen.fillRect(0, 0, SIZE, SIZE);
  }

  function send(bytes) {
    sent = bytes;
    model.set("_drawing", new DataView(bytes.buffer));
    model.save_changes();
  }

  function sendDrawing() {
    smallPen.imageSmoothingEnabled = true;
    smallPen.imageSmoothingQuality = "high";
    smallPen.drawImage(canvas, 0, 0, grid, grid);
    const rgba = smallPen.getImageData(0, 0, grid, grid).data;
    const bytes = new Uint8Array(grid * grid);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rgba[4 * i]; // the red channel: white ink is 255
    send(bytes);
  }

  function paintDrawing() {
    // A drawing set from Python (pad.draw, pad.clear, or another view of the same pad).
    const bytes = bytesOf(model.get("_drawing"));
    if (sameBytes(bytes, sent)) return;
    sent = bytes;
    wipe();
    if (bytes.length === grid * grid) {
      greyToCanvas(smallPen, bytes, grid);
      pen.imageSmoothingEnabled = true;
      pen.drawImage(small, 0, 0, SIZE, SIZE);
    }
  }

  function showResult() {
    const image = bytesOf(model.get("_prepared"));
    const probabilities = model.get("_probabilities") || [];
    const best = probabilities.length ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    const context = prepared.getContext("2d");
    context.fillStyle = "black";
    context.fillRect(0, 0, 28, 28);
    if (image.length === 28 * 28) greyToCanvas(context, image, 28);
    guess.textContent = best >= 0 ? `guess: ${best}` : "";
    root.dataset.guess = best >= 0 ? String(best) : "";
    rows.forEach(({ bar, percent }, digit) => {
      const p = probabilities.length ? probabilities[digit] : 0;
      bar.style.width = `${(100 * p).toFixed(1)}%`;
      bar.classList.toggle("mnist-pad-best", digit === best);
      percent.textContent = probabilities.length ? `${(100 * p).toFixed(0)}%` : "";
    });
    hint.hidden = best >= 0;
    message.textContent = model.get("_message") || "";
  }

  // Drawing: pointer events serve the mouse, a pen and a finger alike.
  let last = null;
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (SIZE / box.width), (event.clientY - box.top) * (SIZE / box.height)];
  }
  function lineTo([x, y]) {
    pen.beginPath();
    pen.moveTo(last[0], last[1]);
    pen.lineTo(x, y);
    pen.stroke();
    last = [x, y];
  }
  function start(event) {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    pen.strokeStyle = pen.fillStyle = "white";
    pen.lineWidth = PEN;
    pen.lineCap = pen.lineJoin = "round";
    last = point(event);
    pen.beginPath();
    pen.arc(last[0], last[1], PEN / 2, 0, 2 * Math.PI);
    pen.fill();
  }
  function move(event) {
    if (!last) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    (events.length ? events : [event]).forEach((e) => lineTo(point(e)));
  }
  function end() {
    if (!last) return;
    last = null;
    sendDrawing();
  }
  canvas.addEventListener("pointerdown", start);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  clear.addEventListener("click", () => {
    wipe();
    send(new Uint8Array(0));
  });

  wipe();
  paintDrawing();
  showResult();
  model.on("change:_drawing", paintDrawing);
  model.on("change:_prepared", showResult);
  model.on("change:_probabilities", showResult);
  model.on("change:_message", showResult);
  return () => {
    model.off("change:_drawing", paintDrawing);
    model.off("change:_prepared", showResult);
    model.off("change:_probabilities", showResult);
    model.off("change:_message", showResult);
  };
}

export default { render };
