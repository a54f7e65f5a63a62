// Bundles the dashboard into dist/: index.html plus content-hashed script and style (served as immutable), so a
// deployment never mixes an old page with new code. Run by functions/Pdm.Functions.csproj when the sources change.
import { build } from "esbuild";
import { readFile, rm, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

const root = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(root, "dist");

// esbuild strips types without checking them: the compiler checks first, so a type error fails the build.
const check = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", root], { stdio: "inherit" });
if (check.status !== 0) {
  process.exit(check.status ?? 1);
}
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const result = await build({
  entryPoints: [path.join(root, "src", "main.ts")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2022"],
  entryNames: "app-[hash]",
  outdir: dist,
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const script = outputs.find((name) => name.endsWith(".js"));
const style = outputs.find((name) => name.endsWith(".css"));
if (!script || !style) {
  throw new Error(`esbuild wrote ${outputs.join(", ")}: expected one .js and one .css`);
}
const page = await readFile(path.join(root, "src", "index.html"), "utf8");
// Absolute paths: the page is served both as /api/dashboard and /api/dashboard/ (see functions/Api/DashboardPages.cs).
const served = "/api/dashboard/";
await writeFile(path.join(dist, "index.html"), page.replace("{{script}}", served + script).replace("{{style}}", served + style));
console.log(`dashboard: ${outputs.join(", ")}, index.html`);
