// Progressive enhancement only: every page works without this file.
// On task forms with an «accion» radio, show only the fields that the chosen action uses.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-acciones]")) {
    const map = JSON.parse(form.dataset.acciones);
    const update = () => {
      const chosen = form.querySelector("input[name=accion]:checked");
      const wanted = chosen && map[chosen.value] ? new Set(map[chosen.value].campos || []) : null;
      for (const box of form.querySelectorAll("[data-campo]")) {
        const name = box.dataset.campo;
        box.classList.toggle("oculto", wanted !== null && name !== "accion" && !wanted.has(name));
      }
    };
    form.addEventListener("change", update);
    update();
  }
});
