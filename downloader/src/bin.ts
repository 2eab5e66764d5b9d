/** The CLI as a script (`node dist/downloader/src/bin.js`, or `tsx downloader/src/bin.ts` in tests). */
import { runFromProcess } from "./cli.js";

void runFromProcess(process.argv.slice(2));
