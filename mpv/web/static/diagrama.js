// Process diagrams with bpmn-js (served by MPV from npm's package, never a CDN).
// [data-bpmn="visor"]: the NavigatedViewer, with the path an expediente took when the page gives one
// (<script type="application/json" id="bpmn-recorrido">). [data-bpmn="editor"]: the Modeler, whose
// «Guardar como nueva versión» posts the XML with the CSRF token and marks each problem's element.
"use strict";

function jsonOf(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function say(box, text) {
  box.textContent = "";
  const p = document.createElement("p");
  p.className = "nota";
  p.textContent = text;
  box.appendChild(p);
}

function mark(viewer, ids, marker) {
  const registry = viewer.get("elementRegistry");
  const canvas = viewer.get("canvas");
  for (const id of ids || []) {
    if (registry.get(id)) canvas.addMarker(id, marker);
  }
}

// bpmn-js's texts (the modeler's palette, context pad, menus) in Spanish: the community's translations
// (npm's bpmn-js-i18n), through the translate service bpmn-js lets a page replace.
async function enCastellano() {
  let textos = {};
  try {
    textos = (await import("/static/vendor/bpmn-js-i18n/es.js")).default;
  } catch (err) {
    // without the translations (npm not installed) the modeler still works, in English
  }
  const traducir = (texto, valores) => (textos[texto] || texto).replace(
    /{([^}]+)}/g, (marca, clave) => (valores && clave in valores ? valores[clave] : marca));
  return { translate: ["value", traducir] };
}

// The page's diagram drawn in ``box`` by the bpmn-js build the page loaded (viewer or modeler), fitted;
// null, with ``fallo`` and the reason shown in the box, when the XML cannot be drawn.
async function abrir(box, fallo) {
  const bpmn = new window.BpmnJS({ container: box, additionalModules: [await enCastellano()] });
  box.querySelector(".cargando")?.remove();
  try {
    await bpmn.importXML(jsonOf("bpmn-xml"));
  } catch (err) {
    say(box, fallo + err.message);
    return null;
  }
  bpmn.get("canvas").zoom("fit-viewport");
  return bpmn;
}

async function visor(box) {
  const viewer = await abrir(box, "No se pudo mostrar el diagrama: ");
  if (!viewer) return;
  const recorrido = jsonOf("bpmn-recorrido");
  if (recorrido) {
    mark(viewer, recorrido.completadas, "mpv-completada");
    mark(viewer, recorrido.temporizadores, "mpv-temporizador");
    mark(viewer, recorrido.esperando, "mpv-esperando");
    mark(viewer, recorrido.actuales, "mpv-actual");
  }
  box.dataset.listo = "true";
  window.mpvDiagrama = viewer;
}

async function editor(box) {
  const modeler = await abrir(box, "No se pudo abrir el diagrama: ");
  if (!modeler) return;
  box.dataset.listo = "true";
  window.mpvDiagrama = modeler;
  const boton = document.getElementById("guardar-version");
  const salida = document.getElementById("resultado-guardar");
  let marcados = [];
  boton.addEventListener("click", async () => {
    boton.disabled = true;
    salida.textContent = "Validando…";
    const canvas = modeler.get("canvas");
    for (const id of marcados) canvas.removeMarker(id, "mpv-problema");
    marcados = [];
    try {
      const { xml } = await modeler.saveXML({ format: true });
      const resp = await fetch(box.dataset.guardar, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
        body: JSON.stringify({ xml }),
      });
      const body = await resp.json();
      salida.textContent = "";
      if (resp.status === 201) {
        const a = document.createElement("a");
        a.href = body.url;
        a.textContent = `Versión ${body.sha256.slice(0, 12)} guardada y activa: ver la versión`;
        salida.appendChild(a);
        return;
      }
      const p = document.createElement("p");
      p.textContent = (body.error || "No se pudo guardar") + ". No se guardó nada.";
      const ul = document.createElement("ul");
      ul.className = "problemas";
      const registry = modeler.get("elementRegistry");
      for (const problema of body.problemas || []) {
        const li = document.createElement("li");
        const code = document.createElement("code");
        code.className = "elemento";
        code.textContent = problema.elemento;
        li.append(code, ": " + problema.mensaje);
        ul.appendChild(li);
        if (registry.get(problema.elemento)) {
          canvas.addMarker(problema.elemento, "mpv-problema");
          marcados.push(problema.elemento);
        }
      }
      salida.className = "alerta";
      salida.append(p, ul);
    } catch (err) {
      salida.textContent = "No se pudo guardar: " + err.message;
    } finally {
      boton.disabled = false;
    }
  });
}

for (const box of document.querySelectorAll("[data-bpmn]")) {
  (box.dataset.bpmn === "editor" ? editor : visor)(box);
}
