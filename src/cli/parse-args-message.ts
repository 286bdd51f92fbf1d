// Node's util.parseArgs errors in the wording every builder command uses (as `builder web` and the
// client commands word them): one short line, without Node's advice about `--`.

/** The reason a command line was refused by util.parseArgs, e.g. "unknown option --bogus". */
export function parseArgsMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const text = String(err?.message ?? e).split('\n')[0]!;
  switch (err?.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const m = /^Unknown option '([^']*)'/.exec(text);
      if (m) return `unknown option ${m[1]}`;
      break;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '--port <value>' argument missing", "Option '-h, --help' does not take an argument"
      const m = /^Option '(?:-\w, )?(--?[\w-]+)(?: <value>)?' (argument missing|does not take an argument)/.exec(text);
      if (m) return m[2] === 'argument missing' ? `${m[1]} needs a value` : `${m[1]} takes no value`;
      break;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const m = /^Unexpected argument '([^']*)'/.exec(text);
      if (m) return `unexpected argument '${m[1]}' (this command takes no arguments)`;
      break;
    }
  }
  return text.replace(/\. To specify a positional argument.*$/, '');
}
