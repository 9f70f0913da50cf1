import { readFileSync } from 'node:fs';

/**
 * Bearer tokens for the api's write endpoints and for ingest: from a file (`api.token_file`,
 * `ingest.token_file`, e.g. a mounted Kubernetes Secret) or else an environment variable. Read
 * here, once at start, so no other module touches the environment; the token itself is never put
 * into an error or a log line, only the file's path.
 */

export type TokenSource =
  /** No token configured. */
  | { kind: 'none' }
  | { kind: 'token'; token: string; from: 'file' | 'env' }
  /** A configured file that cannot be read or is empty: callers refuse everything (fail closed). */
  | { kind: 'error'; message: string };

export interface TokenSetting {
  /** `api.token_file` / `ingest.token_file`. */
  file: string | undefined;
  /** The config key, for messages. */
  fileKey: string;
  /** `VIGIL_API_TOKEN` / `VIGIL_INGEST_TOKEN`. */
  envName: string;
}

export function resolveToken(setting: TokenSetting, env: NodeJS.ProcessEnv): TokenSource {
  if (setting.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(setting.file, 'utf8');
    } catch (err) {
      return {
        kind: 'error',
        message: `cannot read ${setting.fileKey} ${setting.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      };
    }
    const token = text.trim();
    if (token === '') return { kind: 'error', message: `${setting.fileKey} ${setting.file} is empty` };
    return { kind: 'token', token, from: 'file' };
  }
  const token = (env[setting.envName] ?? '').trim();
  return token === '' ? { kind: 'none' } : { kind: 'token', token, from: 'env' };
}

export const API_TOKEN: Omit<TokenSetting, 'file'> = {
  fileKey: 'api.token_file',
  envName: 'VIGIL_API_TOKEN',
};
export const INGEST_TOKEN: Omit<TokenSetting, 'file'> = {
  fileKey: 'ingest.token_file',
  envName: 'VIGIL_INGEST_TOKEN',
};
