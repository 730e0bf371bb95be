// Charts of /analitica, drawn with Chart.js from the JSON block the page carries (CSP: no inline script).
// Each chart repeats a table that is on the page: without JavaScript the tables alone remain.
(function () {
  "use strict";
  var COLORES = ["#1f5fa8", "#d9822b", "#2e7d32", "#c62828", "#6a1b9a", "#00838f"];

  function dibujar() {
    var bloque = document.getElementById("analitica-datos");
    if (!bloque || typeof window.Chart === "undefined") {
      return;
    }
    JSON.parse(bloque.textContent).forEach(function (g) {
      var lienzo = document.querySelector('canvas[data-grafico="' + g.id + '"]');
      if (!lienzo) {
        return;
      }
      var horizontal = g.tipo === "bar" && g.labels.length > 8;
      new window.Chart(lienzo, {
        type: g.tipo,
        data: {
          labels: g.labels,
          datasets: g.series.map(function (s, i) {
            return {label: s.label, data: s.data, backgroundColor: COLORES[i % COLORES.length],
                    borderColor: COLORES[i % COLORES.length], pointRadius: g.tipo === "line" ? 1 : 3};
          })
        },
        options: {
          animation: false,
          // Long lists go horizontal, one bar per line of text; the rest stay low and wide.
          indexAxis: horizontal ? "y" : "x",
          aspectRatio: horizontal ? Math.max(0.8, Math.min(3, 50 / (g.labels.length + 2))) : 3,
          scales: {x: {beginAtZero: true}, y: {beginAtZero: true}},
          plugins: {legend: {display: g.series.length > 1}}
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", dibujar);
  } else {
    dibujar();
  }
})();
