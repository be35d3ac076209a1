// The dashboard in a real browser (Debian's chromium, driven by playwright-core):
// upload images into a new dataset, upload a model spec and train it while its curves
// update, quantize, compile for cortex-m4 (fit verdict, arena timeline), split it over a
// node chain and sweep a cascade, run a sweep,
// open the lineage graph, then the same pages by keyboard alone. Fails on any browser
// console error. Screenshots of every page with a second argument.
// Usage: node tests/browser.test.mjs TINYMLAAS [SCREENSHOT_DIR]
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { launchChromium } from "./chromium.mjs";
import { greyPng } from "./png.mjs";

const tml = resolve(process.argv[2] ?? "../build/tinymlaas");
const shots = process.argv[3] ? resolve(process.argv[3]) : "";
const work = mkdtempSync(join(tmpdir(), "tml-browser-"));
const ws = join(work, "ws");
let server, browser, failures = 0;

function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : ": " + detail}`);
  if (!ok) failures++;
}

async function main() {
  const token = execFileSync(tml, ["token", "create", "browser", "--workspace", ws]).toString().trim();
  server = spawn(tml, ["serve", "--port", "0", "--workers", "1", "--workspace", ws]);
  const port = await new Promise((ok, fail) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/serving http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) ok(Number(m[1]));
    });
    server.on("exit", (code) => fail(new Error(`serve exited ${code}`)));
  });
  // Ten classes of 28x28 grey images (the zoo's tiny_cnn has ten outputs): class k has
  // stripes of period k + 2; every image differs (the store drops duplicate contents).
  const files = [];
  for (let k = 0; k < 10; k++)
    for (let i = 0; i < 4; i++) {
      const f = join(work, `c${k}-${i}.png`);
      writeFileSync(f, greyPng(28, 28, (x, y) => (Math.floor((x + y * (k % 3)) / (k + 2)) % 2) * 180 + 20 + 5 * i));
      files.push(f);
    }
  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  const urls = [];
  page.on("request", (r) => urls.push(r.url()));
  const base = `http://127.0.0.1:${port}/`;
  await page.goto(base + "index.html");
  await page.fill("#token", token);
  await page.click("#login button");
  await page.waitForSelector("h1:text('Home')");
  if (shots) await page.screenshot({ path: join(shots, "home.png"), fullPage: true });

  // Data: upload each class with its label (ten uploads, ten versions).
  for (let k = 0; k < 10; k++) {
    await page.goto(base + "index.html#/data");
    await page.waitForSelector("#upload");
    await page.fill("#upload input[name=dataset]", "shapes");
    await page.fill("#upload input[name=label]", `c${k}`);
    await page.setInputFiles("#upload input[name=files]", files.filter((f) => f.includes(`/c${k}-`)));
    await page.click("#upload button");
    await page.waitForSelector(`h2:text('Samples (${4 * (k + 1)})')`);
  }
  check("ten uploads made version 10", (await page.locator("table tr", { hasText: "shapes" }).textContent()).includes("10"));
  await page.waitForFunction(() => [...document.querySelectorAll("#samples img")].every((i) => i.complete && i.naturalWidth === 28));
  check("the sample grid shows the 40 uploaded images", (await page.locator("#samples img").count()) === 40);
  const labels = await page.locator("svg[aria-label='samples per class'] text").allTextContents();
  check("the class balance chart lists the ten classes", labels.filter((t) => /^c\d$/.test(t)).length === 10, labels.join(","));
  if (shots) await page.screenshot({ path: join(shots, "data.png"), fullPage: true });

  // Train: a spec of our own, uploaded (a bad one first: the error names the line), on
  // the new dataset; the curves grow epoch by epoch.
  await page.goto(base + "index.html#/train");
  await page.waitForSelector("#train");
  const spec = await page.$eval("#train select[name=spec]", (s) => [...s.options].map((o) => o.value).find((v) => v.endsWith("/tiny_cnn.yaml")));
  const badSpec = join(work, "bad.yaml"), mySpec = join(work, "browser_cnn.yaml");
  writeFileSync(badSpec, "name: broken\ninput: [28, 28, 1]\nclasses: 10\nlayers:\n  - warp: {}\n");
  writeFileSync(mySpec, ["name: browser_cnn", "input: [28, 28, 1]", "classes: 10", "layers:",
    "  - conv2d: {filters: 8, kernel: 3, activation: relu}", "  - max_pool: {size: 2}",
    "  - conv2d: {filters: 16, kernel: 3, activation: relu}", "  - max_pool: {size: 2}",
    "  - flatten: {}", "  - dense: {units: 10}", ""].join("\n"));
  await page.setInputFiles("#spec-upload input[type=file]", badSpec);
  const before = errors.length;
  await page.click("#spec-upload button");
  await page.waitForSelector("#spec-status[data-state]");
  const specError = await page.textContent("#spec-status");
  // The browser logs the refused request itself; that one is expected.
  errors.push(...errors.splice(before).filter((e) => !e.includes("400 (Bad Request)")));
  check("a bad spec is refused with its line", /uploaded spec:5/.test(specError ?? ""), specError ?? "");
  await page.setInputFiles("#spec-upload input[type=file]", mySpec);
  await page.click("#spec-upload button");
  await page.waitForFunction(() => document.querySelector("#spec-status")?.dataset.state === "done");
  const chosen = await page.$eval("#train select[name=spec]", (s) => s.selectedOptions[0].textContent);
  check("the uploaded spec is listed and selected", /^browser_cnn \(uploaded\)/.test(chosen ?? ""), chosen ?? "");
  await page.selectOption("#train select[name=data]", "shapes");
  await page.fill("#train input[name=epochs]", "4");
  await page.fill("#train input[name=batch]", "4");
  await page.click("#train button");
  await page.waitForFunction(() => {
    const p = document.querySelector("#curves polyline");
    return p && p.getAttribute("points").trim().split(" ").length >= 2;
  }, null, { timeout: 120000 });
  check("the loss curve updated during training (2+ epochs drawn)", true);
  await page.waitForSelector("#train-status[data-state]", { timeout: 120000 });
  const state = await page.getAttribute("#train-status", "data-state");
  check("the training job finished", state === "done", await page.textContent("#train-status"));
  // The last epoch's curve is drawn by the server after its event: wait for it.
  await page.waitForFunction(() => document.querySelector("#curves polyline")?.getAttribute("points").trim().split(" ").length >= 4, null, { timeout: 30000 }).catch(() => undefined);
  const points = (await page.getAttribute("#curves polyline", "points")).trim().split(" ").length;
  check("the curve has all 4 epochs", points === 4, String(points));
  if (shots) await page.screenshot({ path: join(shots, "train.png"), fullPage: true });

  // Squeeze: the trained model to int8, float vs int8 accuracy, per-layer SQNR.
  await page.goto(base + "index.html#/squeeze");
  await page.waitForSelector("#squeeze select[name=model] option", { state: "attached" });
  await page.selectOption("#squeeze select[name=data]", "shapes");
  await page.click("#squeeze button");
  await page.waitForSelector("#squeeze-status[data-state]", { timeout: 120000 });
  check("quantization finished", (await page.getAttribute("#squeeze-status", "data-state")) === "done", await page.textContent("#squeeze-status"));
  const accRow = await page.locator("#squeeze-result tr", { hasText: "test accuracy" }).textContent();
  check("float and int8 accuracy side by side", /\d+\.\d\d %.*\d+\.\d\d %/.test(accRow ?? ""), accRow ?? "");
  check("the per-layer SQNR chart is drawn", (await page.locator("#squeeze-result svg rect").count()) >= 3);
  if (shots) await page.screenshot({ path: join(shots, "squeeze.png"), fullPage: true });

  // Compile: the int8 model for cortex-m4, measured in QEMU: the fit verdict.
  await page.goto(base + "index.html#/compile");
  await page.waitForSelector("#compile select[name=model] option", { state: "attached" });
  await page.selectOption("#compile select[name=target]", "cortex-m4");
  await page.click("#compile button");
  await page.waitForSelector("#compile-status[data-state]", { timeout: 180000 });
  const verdict = await page.textContent("#verdict").catch(() => "");
  check("the fit verdict for cortex-m4 is shown", /^Fits .*Nano 33 BLE.*\d+ instructions/.test(verdict ?? ""), verdict ?? "");
  check("the per-layer table lists the layers with instructions", (await page.locator("#compile-result tbody tr").count()) >= 5);
  const boxes = await page.$$eval("#arena-timeline rect.arena-buffer", (rs) => rs.map((r) => r.getBBox()).map((b) => [b.x, b.y, b.x + b.width, b.y + b.height]));
  const overlapping = boxes.some((a, i) => boxes.some((b, k) => k > i && a[0] < b[2] - 0.5 && b[0] < a[2] - 0.5 && a[1] < b[3] - 0.5 && b[1] < a[3] - 0.5));
  check("the arena timeline draws every buffer, none overlapping", boxes.length >= 4 && !overlapping, `${boxes.length} boxes, overlapping ${overlapping}`);
  if (shots) await page.screenshot({ path: join(shots, "compile.png"), fullPage: true });
  // The lineage of the result: from the uploaded dataset to this firmware.
  await page.click("#firmware-lineage");
  await page.waitForSelector("#lineage-graph");
  const fwChain = await page.textContent("#lineage-text");
  check("the firmware's lineage runs dataset -> training run -> float model -> int8 model -> firmware",
    /dataset:shapes@10 -> run:\d+ -> model:\w+ -> model:\w+ -> \[firmware:/.test(fwChain ?? ""), fwChain ?? "");
  const fwNodes = await page.$$eval("#lineage-graph a.lineage-node", (as) => as.map((a) => a.getAttribute("aria-label")));
  check("its graph shows the uploaded spec and the calibration data", fwNodes.some((n) => /^model spec: .*browser_cnn/.test(n)) && fwNodes.filter((n) => n.startsWith("dataset version")).length >= 1, fwNodes.join(" | "));

  // Split: the int8 model over the shipped MCU -> gateway -> cloud chain (the MCU's
  // layers measured in QEMU): the chain with the chosen cut, the table of cuts; then a
  // cascade of the model with itself on the test split, its accuracy / offload curve.
  await page.goto(base + "index.html#/split");
  await page.waitForSelector("#split select[name=model] option", { state: "attached" });
  await page.selectOption("#split select[name=chain]", "mcu-gateway-cloud");
  await page.click("#split button");
  await page.waitForSelector("#split-status[data-state]", { timeout: 180000 });
  check("the split job finished", (await page.getAttribute("#split-status", "data-state")) === "done", await page.textContent("#split-status"));
  const chainNodes = await page.$$eval("#split-chain .chain-node", (ns) => ns.map((n) => n.getAttribute("aria-label")));
  const chainLinks = await page.locator("#split-chain .chain-link").count();
  check("the chain view shows the three nodes and the two links", chainNodes.join() === "node mcu,node gateway,node cloud" && chainLinks === 2, `${chainNodes.join()} ${chainLinks}`);
  const layerCounts = await page.$$eval("#split-chain .chain-layers", (ns) => ns.map((n) => parseInt(n.textContent ?? "", 10)));
  const cutRows = await page.$$eval("#split-cuts tbody tr", (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  const bestRows = cutRows.filter((r) => r[0].endsWith("(best)"));
  check("the cut table lists the cuts, the best marked once, its layers as the chain view's",
    cutRows.length >= 5 && bestRows.length === 1 && bestRows[0].at(-2) === layerCounts.join("/"), `${cutRows.length} rows, best ${JSON.stringify(bestRows)} vs ${layerCounts.join("/")}`);
  const bestText = await page.textContent("#split-best");
  check("the best cut's latency is the table's", bestRows.length === 1 && (bestText ?? "").includes(bestRows[0][1 + 3 + 2]), `${bestText} vs ${bestRows[0]?.[6]}`);
  await page.selectOption("#cascade select[name=data]", "shapes");
  await page.fill("#cascade input[name=samples]", "8");
  await page.click("#cascade button");
  await page.waitForSelector("#cascade-status[data-state]", { timeout: 180000 });
  check("the cascade job finished", (await page.getAttribute("#cascade-status", "data-state")) === "done", await page.textContent("#cascade-status"));
  const offloads = await page.$$eval("#cascade-points tbody tr", (rs) => rs.map((r) => parseFloat(r.children[1].textContent ?? "")));
  check("the cascade table has a row per threshold, offload rising from 0 to 100 %",
    offloads.length === 12 && offloads[0] === 0 && offloads.at(-1) === 100 && offloads.every((o, i) => i === 0 || o >= offloads[i - 1]), offloads.join(","));
  check("the cascade curve is drawn", (await page.locator("#cascade-curve svg polyline, #cascade-curve svg path").count()) >= 1);
  if (shots) await page.screenshot({ path: join(shots, "split.png"), fullPage: true });

  // Pipelines: a small sweep (one model x one squeeze config on cortex-m4) from YAML.
  await page.goto(base + "index.html#/pipelines");
  await page.waitForSelector("#pipeline textarea");
  await page.fill("#pipeline textarea", [
    "name: browser-sweep", "steps: []", "sweep:", "  data: shapes", `  models: [${spec}]`,
    "  train: {epochs: 1, batch: 16}", "  squeeze: [{name: int8}]", "  targets: [cortex-m4]",
    "  samples: 8", "  on_device: false", ""].join("\n"));
  await page.click("#pipeline button");
  await page.waitForSelector("#pipeline-status[data-state]", { timeout: 180000 });
  check("the sweep pipeline finished", (await page.getAttribute("#pipeline-status", "data-state")) === "done", await page.textContent("#pipeline-status"));
  const row = await page.locator("#sweep tbody tr").first().textContent().catch(() => "");
  check("the sweep's results table has the cortex-m4 row with its verdict", /tiny_cnn.*int8.*cortex-m4.*yes, Pareto, best/.test(row ?? ""), row ?? "");
  check("the Pareto plot is drawn", (await page.locator("#sweep svg circle").count()) === 1);
  // Every text of every chart on the page lies inside its chart (no title cut off).
  const outside = await page.$$eval("svg.tml-chart", (svgs) => svgs.flatMap((svg) => {
    const w = svg.viewBox.baseVal.width, h = svg.viewBox.baseVal.height;
    return [...svg.querySelectorAll("text")].filter((t) => {
      const b = t.getBBox();
      return !t.getAttribute("transform") && (b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5);
    }).map((t) => t.textContent);
  }));
  check("no chart text runs outside its chart (the Pareto title fits)", outside.length === 0, outside.join(" | "));
  const report = await page.getAttribute("#report", "href");
  const html = await (await page.request.get(base + report.replace(/^\//, ""))).text();
  check("the run's HTML report is served", html.includes("<h2 id=sweep>"), html.slice(0, 200));
  if (shots) await page.screenshot({ path: join(shots, "pipelines.png"), fullPage: true });

  // Lineage of the trained model.
  await page.goto(base + "index.html#/lineage");
  await page.waitForSelector("table a");
  const model = page.locator("table tr", { hasText: "float model" }).locator("a").first();  // either run's
  await model.click();
  await page.waitForSelector("#lineage-graph");
  await page.waitForSelector("h2:text('Artifacts')");
  const text = await page.textContent("#lineage-text");
  check("the model's lineage runs from the dataset through the training run", /dataset:shapes@10 -> run:\d+ -> \[model:/.test(text ?? ""), text ?? "");
  const nodes = await page.$$eval("#lineage-graph a.lineage-node", (as) => as.map((a) => a.getAttribute("data-id")));
  const edges = await page.locator("#lineage-graph line.lineage-edge").count();
  check("the lineage graph draws the dataset, the run and the model, with edges",
    nodes.some((n) => n === "dataset:shapes@10") && nodes.some((n) => n.startsWith("run:")) && nodes.some((n) => n.startsWith("model:")) && edges >= nodes.length - 1,
    `${nodes.join(", ")}; ${edges} edges`);
  if (shots) await page.screenshot({ path: join(shots, "lineage.png"), fullPage: true });
  // Jobs: a long training job, cancelled from the Jobs page with the keyboard.
  const auth = { Authorization: `Bearer ${token}` };
  const long = await (await page.request.post(base + "api/jobs", { headers: auth, data: { kind: "train", params: { spec, data: "shapes", epochs: 2000, batch: 8 } } })).json();
  const jobState = async () => (await (await page.request.get(base + `api/jobs/${long.id}`, { headers: auth })).json()).status;
  for (let i = 0; i < 300 && (await jobState()) !== "running"; i++) await page.waitForTimeout(100);
  await page.goto(base + "index.html#/jobs");
  await page.waitForSelector(`#jobs button[data-job="${long.id}"]`);
  if (shots) await page.screenshot({ path: join(shots, "jobs.png"), fullPage: true });
  await page.focus(`#jobs button[data-job="${long.id}"]`);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /cancel/.test(document.querySelector("#jobs-status")?.textContent ?? ""));
  let final = "";
  for (let i = 0; i < 150 && (final = await jobState()) !== "cancelled"; i++) await page.waitForTimeout(100);
  check("a running job is cancelled from the Jobs page", final === "cancelled", final);
  await keyboardOnly(page, base, files);
  // The token never travels in a URL and is not kept by the page: the browser holds an
  // HttpOnly, SameSite=Strict session cookie instead.
  check("no request put the token in its URL", urls.length > 20 && !urls.some((u) => u.includes(token) || /[?&]token=/.test(u)), urls.find((u) => u.includes("token")));
  const cookies = await page.context().cookies();
  check("the session is an HttpOnly, SameSite=Strict cookie", cookies.some((c) => c.name === "tml_session" && c.httpOnly && c.sameSite === "Strict"), JSON.stringify(cookies));
  check("the page stores no token", !(await page.evaluate(() => JSON.stringify(localStorage))).includes(token));
  check("no errors in the browser console", errors.length === 0, errors.join(" | "));
  await page.goto("about:blank");
  const out = await page.request.delete(base + "api/session");
  check("logging out ends the session", out.ok() && (await (await page.request.get(base + "api/session")).json()).user === null && (await page.request.get(base + "api/jobs")).status() === 401);
}

// Keyboard only: the navigation comes first in tab order and in page order, every
// focused control shows a focus outline, Enter follows links and submits forms, and
// the lineage graph's boxes are reachable and open with Enter.
async function keyboardOnly(page, base, files) {
  await page.goto(base + "index.html#/home");
  await page.reload();  // a fresh load: tabbing starts at the top of the document
  await page.waitForSelector("h1:text('Home')");
  const order = [];
  const outlined = [];  // focused without an outline
  const expected = ["TinyMLaaS", "Home", "Data", "Train", "Squeeze", "Split", "Compile", "Pipelines", "Jobs", "Lineage", "Fleet", "Rollouts", "Drift", "token", "Use token"];
  for (let i = 0; i < expected.length; i++) {
    await page.keyboard.press("Tab");
    const f = await page.evaluate(() => {
      const e = document.activeElement;
      const style = getComputedStyle(e);
      return { text: (e.textContent || e.id || e.tagName).trim(), outline: style.outlineStyle !== "none" && style.outlineWidth !== "0px" };
    });
    order.push(f.text);
    if (!f.outline) outlined.push(f.text);
  }
  check("tab order: brand, the lifecycle pages in order, then the token form", expected.every((t, i) => order[i] === t), order.join(" > "));
  check("every focused control shows a focus outline", outlined.length === 0, outlined.join(", "));
  // Enter on "Data" opens it and moves focus to the page; Tab then reaches its controls.
  for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.textContent)) !== "Data"; i++)
    await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Enter");
  await page.waitForSelector("h1:text('Data')");
  check("Enter on a navigation link opens the page and focuses it", await page.evaluate(() => location.hash === "#/data" && document.activeElement?.id === "page"));
  const names = [];
  for (let i = 0; i < 40 && !names.includes("BUTTON:Upload"); i++) {
    await page.keyboard.press("Tab");
    names.push(await page.evaluate(() => { const e = document.activeElement; return `${e.tagName}:${(e.getAttribute("name") ?? e.textContent ?? "").trim()}`; }));
  }
  check("the upload form is reachable field by field", ["INPUT:dataset", "INPUT:label", "INPUT:files", "BUTTON:Upload"].every((n) => names.includes(n)), names.join(" > "));
  // Enter in a form field submits the form (the file itself is chosen by the test: a
  // headless browser has no file dialog).
  await page.focus("#upload input[name=dataset]");
  await page.keyboard.type("kbd");
  await page.keyboard.press("Tab");
  await page.keyboard.type("c0");
  await page.setInputFiles("#upload input[name=files]", files[0]);
  await page.focus("#upload input[name=label]");
  await page.keyboard.press("Enter");
  const submitted = await page.waitForSelector("h2:text('kbd: class balance')", { timeout: 10000 }).then(() => true).catch(() => false);
  check("Enter in a form field submits it (one image uploaded into a new dataset)", submitted);
  // The lineage graph: Tab to a box, Enter opens that artifact's lineage.
  await page.goto(base + "index.html#/lineage/dataset%3Ashapes%4010");
  await page.waitForSelector("#lineage-graph a.lineage-node");
  await page.focus("#page");
  let target = "";
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press("Tab");
    target = await page.evaluate(() => document.activeElement?.getAttribute("data-id") ?? "");
    if (target.startsWith("run:")) break;
  }
  check("the lineage graph's boxes are reachable with Tab", target.startsWith("run:"), target);
  await page.keyboard.press("Enter");
  await page.waitForFunction((t) => decodeURIComponent(location.hash) === `#/lineage/${t}`, target);
  await page.waitForSelector("#lineage-graph a.lineage-node");
  check("Enter on a box opens its lineage", (await page.getAttribute("#lineage-graph svg", "aria-label")) === `lineage of ${target}`);
  // Labeling by keyboard: from the dataset's page to the labeler, a digit gives the
  // sample that class and moves on, the arrows move back, "n" types a new class.
  await page.goto(base + "index.html#/data/shapes");
  await page.focus("#open-labeler");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#labeler:focus");
  const first = await page.textContent("#label-position");
  await page.keyboard.press("3");
  await page.waitForFunction(() => /labeled c2 \(version 11\)/.test(document.querySelector("#label-said")?.textContent ?? ""));
  check("a digit labels the sample with that class and moves to the next", first.startsWith("sample 1 of 40") && (await page.textContent("#label-position")).startsWith("sample 2 of 40"));
  await page.keyboard.press("ArrowLeft");
  check("the arrows move back to it, now labeled", (await page.textContent("#label-current")) === "labeled c2" && (await page.getAttribute("#labeler button[data-class=c2]", "aria-pressed")) === "true");
  await page.keyboard.press("n");
  await page.keyboard.type("blurry");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /labeled blurry \(version 12\)/.test(document.querySelector("#label-said")?.textContent ?? ""));
  check("n types a new class, which becomes a class button", (await page.locator("#labeler button[data-class=blurry]").count()) === 1 && await page.evaluate(() => document.activeElement?.id === "labeler"));
  // A bounding box by keyboard: b starts one in the middle (7..21 of 28 pixels), two
  // steps right, one step larger, class 2, Enter keeps it; Delete removes it again.
  await page.keyboard.press("b");
  for (const k of ["ArrowRight", "ArrowRight", "Shift+ArrowDown", "2"]) await page.keyboard.press(k);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /boxed c1 \(version 13\)/.test(document.querySelector("#label-said")?.textContent ?? ""));
  const stored = (await (await page.request.get(base + "api/datasets/shapes/versions/13/samples?limit=100")).json()).samples.filter((x) => x.boxes.length);
  check("a box drawn by keyboard is stored in pixels of the image", stored.length === 1 && stored[0].boxes.length === 1 && stored[0].boxes[0].label === "c1" && stored[0].boxes[0].box.join() === "9,7,23,22", JSON.stringify(stored));
  check("the box is drawn over the image", (await page.locator("#labeler svg.boxes rect.kept").count()) === 1);
  await page.keyboard.press("Delete");
  await page.waitForFunction(() => /lost its last box \(version 14\)/.test(document.querySelector("#label-said")?.textContent ?? ""));
  check("Delete removes the last box", (await page.locator("#labeler svg.boxes rect").count()) === 0);
  if (shots) await page.screenshot({ path: join(shots, "label.png"), fullPage: true });

}

try {
  if (shots) mkdirSync(shots, { recursive: true });
  await main();
} catch (e) {
  check("the browser test ran", false, String(e?.stack ?? e));
} finally {
  await browser?.close();
  server?.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
console.log(`browser: ${failures ? failures + " failed" : "all passed"}`);
process.exit(failures ? 1 : 0);
