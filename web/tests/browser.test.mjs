// The dashboard in a real browser (Debian's chromium, driven by playwright-core):
// upload images into a new dataset, start a training run and watch its curves update,
// open the lineage of the trained model. Fails on any browser console error.
// Usage: node tests/browser.test.mjs TINYMLAAS [SCREENSHOT_DIR]
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
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
  server = spawn(tml, ["serve", "--port", "0", "--workers", "1", "--web", resolve("dist"), "--workspace", ws]);
  const port = await new Promise((ok, fail) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/serving http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) ok(Number(m[1]));
    });
    server.on("exit", (code) => fail(new Error(`serve exited ${code}`)));
  });
  // Two classes of 28x28 grey images: dark squares and light stripes.
  const files = [];
  for (let i = 0; i < 24; i++) {
    const light = i % 2 === 1;
    const f = join(work, `${light ? "light" : "dark"}-${i}.png`);
    // Every image different (the store drops duplicate contents).
    writeFileSync(f, greyPng(28, 28, (x, y) => (light ? (((x + i) >> 2) % 2) * 200 + 20 + i : x > 6 && x < 22 && y > 6 && y < 22 ? 30 + i : 0)));
    files.push(f);
  }
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  const base = `http://127.0.0.1:${port}/`;
  await page.goto(base + "index.html");
  await page.fill("#token", token);
  await page.click("#login button");
  await page.waitForSelector("h1:text('Home')");
  if (shots) await page.screenshot({ path: join(shots, "home.png"), fullPage: true });

  // Data: upload each class with its label.
  for (const label of ["dark", "light"]) {
    await page.goto(base + "index.html#/data");
    await page.waitForSelector("#upload");
    await page.fill("#upload input[name=dataset]", "shapes");
    await page.fill("#upload input[name=label]", label);
    await page.setInputFiles("#upload input[name=files]", files.filter((f) => f.includes(`/${label}-`)));
    await page.click("#upload button");
    await page.waitForSelector(`h2:text('Samples (${label === "dark" ? 12 : 24})')`);
  }
  check("the second upload made version 2", (await page.locator("table tr", { hasText: "shapes" }).textContent()).includes("2"));
  await page.waitForFunction(() => [...document.querySelectorAll("#samples img")].every((i) => i.complete && i.naturalWidth === 28));
  check("the sample grid shows the 24 uploaded images", (await page.locator("#samples img").count()) === 24);
  check("the class balance chart lists both classes", (await page.locator("svg[aria-label='samples per class'] text").allTextContents()).filter((t) => t === "dark" || t === "light").length === 2);
  if (shots) await page.screenshot({ path: join(shots, "data.png"), fullPage: true });

  // Train: tiny_cnn on the new dataset; the curves grow epoch by epoch.
  await page.goto(base + "index.html#/train");
  await page.waitForSelector("#train");
  const spec = await page.$eval("#train select[name=spec]", (s) => [...s.options].map((o) => o.value).find((v) => v.endsWith("/tiny_cnn.yaml")));
  await page.selectOption("#train select[name=spec]", spec);
  await page.selectOption("#train select[name=data]", "shapes");
  await page.fill("#train input[name=epochs]", "4");
  await page.click("#train button");
  await page.waitForFunction(() => {
    const p = document.querySelector("#curves polyline");
    return p && p.getAttribute("points").trim().split(" ").length >= 2;
  }, null, { timeout: 120000 });
  check("the loss curve updated during training (2+ epochs drawn)", true);
  await page.waitForSelector("#train-status[data-state]", { timeout: 120000 });
  const state = await page.getAttribute("#train-status", "data-state");
  check("the training job finished", state === "done", await page.textContent("#train-status"));
  const points = (await page.getAttribute("#curves polyline", "points")).trim().split(" ").length;
  check("the curve has all 4 epochs", points === 4, String(points));
  if (shots) await page.screenshot({ path: join(shots, "train.png"), fullPage: true });

  // Lineage of the trained model.
  await page.goto(base + "index.html#/lineage");
  await page.waitForSelector("table a");
  const model = page.locator("table tr", { hasText: "float model" }).locator("a").first();
  await model.click();
  await page.waitForSelector("#lineage-text");
  const text = await page.textContent("#lineage-text");
  check("the model's lineage runs from the dataset through the training run", /dataset:shapes@2 -> run:\d+ -> \[model:/.test(text ?? ""), text ?? "");
  if (shots) await page.screenshot({ path: join(shots, "lineage.png"), fullPage: true });
  await page.goto(base + "index.html#/jobs");
  await page.waitForSelector("h1:text('Jobs')");
  if (shots) await page.screenshot({ path: join(shots, "jobs.png"), fullPage: true });
  check("no errors in the browser console", errors.length === 0, errors.join(" | "));
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
