// PDF preview with pdf.js (served by MPV itself): pages drawn on canvases, no browser plugin needed.
const PDFJS = "/static/vendor/pdfjs/pdf.min.mjs";

async function show(box) {
  const url = box.dataset.pdf;
  try {
    const pdfjs = await import(PDFJS);
    pdfjs.GlobalWorkerOptions.workerSrc = "/static/vendor/pdfjs/pdf.worker.min.mjs";
    const doc = await pdfjs.getDocument({ url, isEvalSupported: false, enableXfa: false }).promise;
    box.textContent = "";
    const pages = Math.min(doc.numPages, Number(box.dataset.paginas || 5));
    for (let n = 1; n <= pages; n++) {
      const page = await doc.getPage(n);
      const viewport = page.getViewport({ scale: 1.3 });
      const canvas = document.createElement("canvas");
      canvas.width = viewport.width;
      canvas.height = viewport.height;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Página ${n} de ${doc.numPages}`);
      box.appendChild(canvas);
      await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    }
    if (doc.numPages > pages) {
      const more = document.createElement("p");
      more.textContent = `Se muestran ${pages} de ${doc.numPages} páginas; descargue el archivo para verlo completo.`;
      box.appendChild(more);
    }
  } catch (err) {
    box.querySelector(".cargando")?.remove();
    const p = document.createElement("p");
    p.textContent = "No se pudo mostrar la vista previa; use «Descargar» para abrir el archivo.";
    box.appendChild(p);
  }
}

for (const box of document.querySelectorAll("[data-pdf]")) show(box);
