// The teacher's page: asks the class server for the class every second and draws it.
// Everything a learner chose (their name) is put on the page as text, never as HTML.
"use strict";
(function () {
  const key = decodeURIComponent(location.hash.slice(1));
  const LABELS = {first_try: "right at first try", after_tries: "right after tries", stuck: "stuck (3+ wrong)",
                  trying: "trying (1-2 wrong)", not_started: "not started"};
  const status = document.getElementById("status");

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function learnerName(person) {
    return person.name || "anonymous #" + person.id;
  }

  function drawExercise(exercise, learners) {
    const untouched = exercise.groups.not_started === learners;  // nobody has tried it yet: drawn small
    const box = element("article", undefined, untouched ? "exercise untouched" : "exercise");
    box.dataset.exercise = exercise.exercise;
    box.append(element("h2", "Exercise " + exercise.exercise));
    const groups = element("ul", undefined, "groups");
    for (const name of Object.keys(LABELS)) {
      const item = element("li", exercise.groups[name] + " " + LABELS[name], name);
      item.dataset.group = name;
      item.dataset.count = exercise.groups[name];
      groups.append(item);
    }
    box.append(groups);
    if (untouched) box.append(element("p", "Nobody has tried it yet.", "hint"));
    if (exercise.mistakes.length === 0 && !untouched) box.append(element("p", "No mistakes yet.", "hint"));
    for (const mistake of exercise.mistakes) {
      const row = element("div", undefined, "mistake");
      row.dataset.verdict = mistake.verdict;
      row.dataset.count = mistake.learners;
      const bar = element("div", undefined, "bar");
      const fill = element("span", undefined, "fill");
      fill.style.width = (100 * mistake.learners / Math.max(learners, 1)) * 0.7 + "%";
      bar.append(fill, element("span", String(mistake.learners), "count"),
                 element("span", mistake.learners === 1 ? "learner" : "learners"),
                 element("span", mistake.verdict, "verdict-id"));
      row.append(bar, element("div", mistake.message, "message"));
      if (mistake.note) row.append(element("div", "Say: " + mistake.note, "note"));
      box.append(row);
    }
    return box;
  }

  function drawPerson(person) {
    const row = element("tr");
    row.dataset.learner = person.id;
    const name = element("td");
    name.append(element("bdi", learnerName(person), "name"));
    const stuck = person.stuck.map((s) => s.exercise + " (" + s.minutes + " min)").join(", ");
    row.append(name, element("td", person.done.join(", ") || "–"), element("td", stuck || "–"));
    return row;
  }

  function draw(data) {
    document.getElementById("totals").textContent =
      data.learners + (data.learners === 1 ? " learner, " : " learners, ") + data.reports + " checks reported";
    document.getElementById("totals").dataset.reports = data.reports;
    document.getElementById("exercises").replaceChildren(...data.exercises.map((e) => drawExercise(e, data.learners)));
    document.getElementById("learners").replaceChildren(...data.people.map(drawPerson));
    status.textContent = "Live: updated " + new Date().toLocaleTimeString();
    status.className = "";
  }

  function headers() {
    return key ? {Authorization: "Bearer " + key} : {};
  }

  async function poll() {
    try {
      const response = await fetch("api/summary", {headers: headers(), credentials: "same-origin", cache: "no-store"});
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        throw new Error(response.status + ": " + (body.error || response.statusText));
      }
      draw(await response.json());
    } catch (err) {
      status.textContent = "Cannot read the class (" + err.message + "): check the address and its key after the #";
      status.className = "error";
    }
    setTimeout(poll, 1000);
  }

  const projector = document.getElementById("projector");
  function setProjector(on) {
    document.body.classList.toggle("projector", on);
    projector.setAttribute("aria-pressed", String(on));
    projector.textContent = on ? "Show learners" : "Projector mode: counts only";
  }
  projector.addEventListener("click", () => setProjector(!document.body.classList.contains("projector")));
  setProjector(new URLSearchParams(location.search).has("projector"));

  document.getElementById("csv").addEventListener("click", async () => {
    const response = await fetch("api/class.csv", {headers: headers(), credentials: "same-origin"});
    if (!response.ok) return;
    const link = element("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = "class.csv";
    link.click();
    URL.revokeObjectURL(link.href);
  });
  poll();
})();
