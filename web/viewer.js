// The slide viewer: Leaflet (Debian's libjs-leaflet) in pixel coordinates, one zoom level per power of
// two. Zooms the pyramid stores are fetched as stored tiles; the others through IIIF, which the server
// resamples from the nearest finer level. Adds a scale bar from the MPP, an overview navigator, the label,
// and keeps the position in the URL.
(async () => {
  const params = new URLSearchParams(location.hash.slice(1));
  const id = params.get("slide");
  const title = document.getElementById("title");
  document.getElementById("back").href = "./" + tokenQuery();
  if (!id) { title.textContent = "No slide chosen"; return; }
  let slide;
  try {
    slide = await api(`api/slides/${encodeURIComponent(id)}`);
  } catch (e) {
    title.textContent = `Cannot open slide: ${e.message}`;
    return;
  }
  title.textContent = `${slide.name} · ${slide.width.toLocaleString()} × ${slide.height.toLocaleString()} px` +
    (slide.mpp ? ` · ${slide.mpp.x.toFixed(3)} µm/px` : "");
  document.title = `${slide.name} · dicomizer`;

  const base = slide.levels[0];
  const tile = base.tileWidth;
  // Zoom z shows the slide downsampled by 2^(maxZoom - z); the smallest zoom fits in about one tile.
  let maxZoom = 0;
  while (Math.max(slide.width, slide.height) / 2 ** maxZoom > tile) maxZoom++;
  const stored = new Map(); // downsample -> level
  for (const level of slide.levels) stored.set(Math.round(level.downsample), level);

  const map = L.map("map", {
    crs: L.CRS.Simple, minZoom: 0, maxZoom: maxZoom + 2, zoomSnap: 0.25, zoomDelta: 0.5,
    attributionControl: false, keyboard: true, keyboardPanDelta: 120,
  });
  const toLatLng = (x, y) => map.unproject([x, y], maxZoom);
  const bounds = L.latLngBounds(toLatLng(0, slide.height), toLatLng(slide.width, 0));
  map.setMaxBounds(bounds.pad(0.5));

  const SlideLayer = L.TileLayer.extend({
    getTileUrl(coords) {
      const factor = 2 ** (maxZoom - coords.z);
      const level = stored.get(factor);
      if (level && level.tileWidth === tile) {
        return withToken(`api/slides/${slide.id}/tiles/${level.level}/${coords.x}/${coords.y}`);
      }
      const x = coords.x * tile * factor, y = coords.y * tile * factor;
      const w = Math.min(tile * factor, slide.width - x), h = Math.min(tile * factor, slide.height - y);
      const outW = Math.max(1, Math.round(w / factor));
      return withToken(`iiif/${slide.id}/${x},${y},${w},${h}/${outW},/0/default.jpg`);
    },
  });
  const layer = new SlideLayer("", {
    tileSize: tile, maxNativeZoom: maxZoom, maxZoom: maxZoom + 2, minZoom: 0, noWrap: true,
    bounds, keepBuffer: 3, updateWhenZooming: false,
  });
  let tileErrors = 0, tilesLoaded = 0;
  layer.on("tileerror", () => { tileErrors++; window.viewerState.tileErrors = tileErrors; });
  layer.on("tileload", () => { tilesLoaded++; window.viewerState.tilesLoaded = tilesLoaded; });
  layer.on("load", () => { window.viewerState.idle = true; });
  layer.on("loading", () => { window.viewerState.idle = false; });
  window.viewerState = { tileErrors: 0, tilesLoaded: 0, idle: false, maxZoom, map };
  layer.addTo(map);

  // Position from the URL, else the whole slide.
  const x = parseFloat(params.get("x")), y = parseFloat(params.get("y")), z = parseFloat(params.get("z"));
  if (isFinite(x) && isFinite(y) && isFinite(z)) map.setView(toLatLng(x, y), z); else map.fitBounds(bounds);
  map.on("moveend", () => {
    const c = map.project(map.getCenter(), maxZoom);
    const hash = `slide=${encodeURIComponent(slide.id)}&x=${Math.round(c.x)}&y=${Math.round(c.y)}&z=${map.getZoom()}`;
    history.replaceState(null, "", `${location.pathname}${location.search}#${hash}`);
    drawNavigator();
    drawScale();
  });
  map.getContainer().focus();

  // Scale bar in µm or mm from the MPP.
  const ScaleBar = L.Control.extend({
    onAdd() { this.box = L.DomUtil.create("div", "scalebar"); return this.box; },
  });
  const scale = new ScaleBar({ position: "bottomleft" }).addTo(map);
  function drawScale() {
    if (!slide.mpp) { scale.box.textContent = "no pixel size"; return; }
    const micronsPerScreenPixel = slide.mpp.x * 2 ** (maxZoom - map.getZoom());
    const target = micronsPerScreenPixel * 120;
    const power = 10 ** Math.floor(Math.log10(target));
    const nice = [1, 2, 5, 10].map(m => m * power).filter(v => v <= target).pop() || power;
    const width = nice / micronsPerScreenPixel;
    const text = nice >= 1000 ? `${nice / 1000} mm` : `${nice} µm`;
    scale.box.innerHTML = `${text}<div class="bar" style="width:${Math.round(width)}px"></div>`;
  }

  // Overview navigator: the whole slide with the current view outlined; click to go there.
  const Navigator = L.Control.extend({
    onAdd() {
      const box = L.DomUtil.create("div", "navigator");
      const img = L.DomUtil.create("img", "", box);
      img.alt = "overview";
      img.src = withToken(slide.links.thumbnail || `iiif/${slide.id}/full/!200,200/0/default.jpg`);
      this.view = L.DomUtil.create("div", "view", box);
      this.img = img;
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.on(box, "click", (e) => {
        const r = img.getBoundingClientRect();
        const fx = (e.clientX - r.left) / r.width, fy = (e.clientY - r.top) / r.height;
        map.panTo(toLatLng(fx * slide.width, fy * slide.height));
      });
      img.onload = drawNavigator;
      return box;
    },
  });
  const navigator = new Navigator({ position: "bottomright" }).addTo(map);
  function drawNavigator() {
    const img = navigator.img;
    if (!img || !img.width) return;
    const b = map.getBounds();
    const tl = map.project(b.getNorthWest(), maxZoom), br = map.project(b.getSouthEast(), maxZoom);
    const sx = img.width / slide.width, sy = img.height / slide.height;
    const left = Math.max(0, tl.x * sx), top = Math.max(0, tl.y * sy);
    const right = Math.min(img.width, br.x * sx), bottom = Math.min(img.height, br.y * sy);
    Object.assign(navigator.view.style, {
      left: `${left}px`, top: `${top}px`, width: `${Math.max(2, right - left)}px`, height: `${Math.max(2, bottom - top)}px`,
    });
  }

  if (slide.links.label) {
    const LabelBox = L.Control.extend({
      onAdd() {
        const box = L.DomUtil.create("div", "labelbox");
        const img = L.DomUtil.create("img", "", box);
        img.alt = "slide label";
        img.src = withToken(slide.links.label);
        return box;
      },
    });
    new LabelBox({ position: "topright" }).addTo(map);
  }
  drawScale();
})();
