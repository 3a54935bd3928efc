/**
 * ANSI SGR colours (`ESC[…m`) as CI logs have them, rendered as DOM nodes (text nodes,
 * never HTML: a log cannot inject markup). Other escape sequences are dropped. State
 * starts fresh on each line: the viewer renders lines independently (virtualised).
 */
interface Style {
  classes: Set<string>;
  color?: string;
  background?: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what this parses.
const ESCAPES = /\u001b\[([0-9;]*)([A-Za-z])|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[\u0000-\u0008\u000b-\u001f]/g;
const PALETTE = ['#000000', '#cd3131', '#0dbc79', '#e5e510', '#2472c8', '#bc3fbc', '#11a8cd', '#e5e5e5'];

function color256(n: number): string {
  if (n < 8) return PALETTE[n] as string;
  if (n < 16) return PALETTE[n - 8] as string;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${level(Math.floor(i / 36))},${level(Math.floor(i / 6) % 6)},${level(i % 6)})`;
}

function apply(style: Style, params: number[]): void {
  for (let k = 0; k < params.length; k++) {
    const p = params[k] as number;
    if (p === 0) {
      style.classes.clear();
      style.color = undefined;
      style.background = undefined;
    } else if (p === 1) style.classes.add('b');
    else if (p === 2) style.classes.add('dim');
    else if (p === 3) style.classes.add('i');
    else if (p === 4) style.classes.add('u');
    else if (p === 22) style.classes.delete('b');
    else if (p === 23) style.classes.delete('i');
    else if (p === 24) style.classes.delete('u');
    else if ((p >= 30 && p <= 37) || (p >= 90 && p <= 97)) {
      for (const c of [...style.classes]) if (c.startsWith('fg')) style.classes.delete(c);
      style.classes.add(`fg${p}`);
      style.color = undefined;
    } else if (p === 39) {
      for (const c of [...style.classes]) if (c.startsWith('fg')) style.classes.delete(c);
      style.color = undefined;
    } else if ((p >= 40 && p <= 47) || (p >= 100 && p <= 107)) {
      for (const c of [...style.classes]) if (c.startsWith('bg')) style.classes.delete(c);
      style.classes.add(`bg${p >= 100 ? p - 60 : p}`);
      style.background = undefined;
    } else if (p === 49) {
      for (const c of [...style.classes]) if (c.startsWith('bg')) style.classes.delete(c);
      style.background = undefined;
    } else if (p === 38 || p === 48) {
      const mode = params[k + 1];
      let value: string | undefined;
      if (mode === 5) {
        value = color256(params[k + 2] ?? 0);
        k += 2;
      } else if (mode === 2) {
        value = `rgb(${params[k + 2] ?? 0},${params[k + 3] ?? 0},${params[k + 4] ?? 0})`;
        k += 4;
      }
      if (p === 38) style.color = value;
      else style.background = value;
    }
  }
}

/** Appends `text` to `parent` as spans styled by its SGR sequences. */
export function renderAnsi(parent: HTMLElement, text: string): void {
  const style: Style = { classes: new Set() };
  let at = 0;
  const emit = (piece: string) => {
    if (piece === '') return;
    if (style.classes.size === 0 && !style.color && !style.background) {
      parent.append(piece);
      return;
    }
    const span = document.createElement('span');
    span.className = [...style.classes].join(' ');
    if (style.color) span.style.color = style.color;
    if (style.background) span.style.background = style.background;
    span.textContent = piece;
    parent.append(span);
  };
  for (const match of text.matchAll(ESCAPES)) {
    emit(text.slice(at, match.index));
    at = (match.index ?? 0) + match[0].length;
    if (match[2] === 'm')
      apply(
        style,
        (match[1] || '0').split(';').map((n) => Number(n) || 0),
      );
    else if (match[0] === '\t') parent.append('\t');
  }
  emit(text.slice(at));
}

/** The text without escape sequences (what search matches against). */
export const stripAnsi = (text: string): string => text.replace(ESCAPES, (m) => (m === '\t' ? '\t' : ''));
