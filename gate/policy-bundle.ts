/**
 * `npm run policy:bundle [-- <out dir>]`: a self-contained copy of the policy pack for
 * `pulumi policy publish`.
 *
 * In this repository the pack imports the project's core modules (contract, manifest, catalog,
 * sizing) from ../components/core and runs on the root node_modules. `pulumi policy publish` packs
 * the pack's directory only, and the CLI that later runs the published pack installs its
 * package.json dependencies next to it; so the bundle holds a copy of core (policies/lib/core.ts,
 * the only file importing it, is rewritten to point at the copy) and a package.json that pins the
 * dependencies (including typescript and @types/node: run-policy-pack type-checks the pack).
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "./stack-file";

const PACK_DIR = path.join(REPO_ROOT, "policies");
const CORE_DIR = path.join(REPO_ROOT, "components", "core");
/** What the bundle needs from the root package.json. */
const DEPENDENCIES = ["@pulumi/policy", "@pulumi/pulumi", "zod", "yaml"];
const DEV_DEPENDENCIES = ["typescript", "@types/node"];

export function bundlePolicyPack(outDir: string): string[] {
  const out = path.resolve(outDir);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const written: string[] = [];
  const copy = (from: string, to: string) => {
    cpSync(from, to, {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}node_modules`) && (statSync(src).isDirectory() || keep(src)),
    });
  };
  for (const entry of readdirSync(PACK_DIR)) {
    if (entry === "node_modules" || entry === "package.json") continue;
    copy(path.join(PACK_DIR, entry), path.join(out, entry));
  }
  copy(CORE_DIR, path.join(out, "core"));

  const coreFile = path.join(out, "lib", "core.ts");
  const source = readFileSync(coreFile, "utf8");
  const rewritten = source.replaceAll('"../../components/core/', '"../core/');
  if (rewritten === source) throw new Error(`${coreFile}: no import of ../../components/core to rewrite`);
  writeFileSync(coreFile, rewritten);

  const root = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as Record<string, Record<string, string>>;
  const pack = JSON.parse(readFileSync(path.join(PACK_DIR, "package.json"), "utf8")) as Record<string, unknown>;
  const pick = (names: string[]) =>
    Object.fromEntries(
      names.map((name) => {
        const version = root["dependencies"]?.[name] ?? root["devDependencies"]?.[name];
        if (!version) throw new Error(`package.json pins no version of ${name}`);
        return [name, version];
      }),
    );
  const manifest = {
    ...pack,
    description: "CrossGuard policy pack for the model-cache contract (self-contained bundle for pulumi policy publish).",
    dependencies: pick(DEPENDENCIES),
    devDependencies: pick(DEV_DEPENDENCIES),
  };
  writeFileSync(path.join(out, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

  for (const file of walk(out)) written.push(path.relative(out, file));
  const outside = written.filter((f) => f.endsWith(".ts") && /from "(\.\.\/)+components\//.test(readFileSync(path.join(out, f), "utf8")));
  if (outside.length > 0) throw new Error(`the bundle still imports the repository's core: ${outside.join(", ")}`);
  return written.sort();
}

function keep(file: string): boolean {
  return /\.(ts|json|yaml)$/.test(file) && !file.endsWith(".test.ts");
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

if (require.main === module) {
  const out = process.argv[2] ?? path.join(REPO_ROOT, "dist", "policy-pack");
  const files = bundlePolicyPack(out);
  process.stdout.write(
    `${files.length} files in ${path.relative(process.cwd(), out) || out}\n` +
      "Publish it (Pulumi Cloud, an organization admin):\n" +
      `  cd ${path.relative(process.cwd(), out) || out} && npm install && pulumi policy publish <org>\n` +
      "  pulumi policy enable <org>/model-cache-contract latest --policy-group <group> [--config policy-config.json]\n",
  );
}
