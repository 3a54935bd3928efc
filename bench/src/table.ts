/** Column alignment: text left, numbers right. */
export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align: Align;
}

/** Renders rows as a plain-text table with aligned columns and a rule under the header. */
export function formatTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((column, index) => Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, index) => {
        const width = widths[index] as number;
        return columns[index]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const header = render(columns.map((column) => column.header));
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [header, rule, ...rows.map(render)].join('\n');
}
