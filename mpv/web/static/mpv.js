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

// The public filing form: show the fields of the kind of person chosen (natural / jurídica).
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-persona]")) {
    const update = () => {
      const chosen = form.querySelector("input[name=tipo_persona]:checked");
      const kind = chosen ? chosen.value : "natural";
      for (const box of form.querySelectorAll("[data-solo]")) box.classList.toggle("oculto", box.dataset.solo !== kind);
      if (kind === "juridica") form.querySelector("#f-tipo_documento_identidad").value = "RUC";
    };
    for (const radio of form.querySelectorAll("input[name=tipo_persona]")) radio.addEventListener("change", update);
    update();
  }
  // «Imprimir» needs script; without it the button stays hidden and the browser's print works as always.
  for (const button of document.querySelectorAll("[data-imprimir]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
