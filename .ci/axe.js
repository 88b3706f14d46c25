// axe-core on one HTML file in a real Chromium, driven by puppeteer-core (tests/test_html_standards.py).
// Usage: node .ci/axe.js CHROMIUM_PATH FILE.html...
//   -> JSON {FILE: {violations: [...], passes: N, version}} on stdout, one browser for all files.
"use strict";
const path = require("path");
const puppeteer = require("puppeteer-core");
const axe = require("axe-core");

async function main() {
  const [browserPath, ...files] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath: browserPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const results = {};
  try {
    for (const file of files) {
      results[file] = await check(browser, file);
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results));
}

async function check(browser, file) {
  const page = await browser.newPage();
  try {
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto("file://" + path.resolve(file), { waitUntil: "load" });
    await page.addScriptTag({ content: axe.source });
    return await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ["violations"] });
      return {
        violations: r.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
        })),
        passes: r.passes.length,
        version: window.axe.version,
      };
    });
  } finally {
    await page.close();
  }
}

main().catch((error) => { console.error(String(error && error.stack || error)); process.exit(2); });
