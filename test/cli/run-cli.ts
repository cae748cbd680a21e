// Runs the real `lazaret` command as a child process (node --import tsx src/cli/main.ts ...), the way an
// operator does, and returns its exit code and output.

import { spawn } from 'node:child_process';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `dist: true` runs the built dist/cli/main.js, as installed (build first: npm run build). */
export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; dist?: boolean } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
    // The test's own settings must not leak into the command under test.
    for (const k of ['LAZARET_URL', 'LAZARET_TOKEN']) if (!opts.env || !(k in opts.env)) delete env[k];
    const entry = opts.dist ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
    const proc = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`lazaret ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 20_000} ms; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
