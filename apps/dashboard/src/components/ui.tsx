import { useId, type ReactNode } from 'react';
import { ApiError } from '../api/http.ts';

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
  return <p role="alert" className="error">{text}</p>;
}

export function Notice({ children }: { children: ReactNode }) {
  return <p role="status" className="notice">{children}</p>;
}

/** A labelled input: the label text is the accessible name the browser tests use. */
export function Field(props: {
  label: string; value: string; onChange: (v: string) => void; type?: string; required?: boolean; placeholder?: string; hint?: string;
  autoComplete?: string; min?: number; step?: string; list?: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id} type={props.type ?? 'text'} value={props.value} required={props.required} placeholder={props.placeholder}
        autoComplete={props.autoComplete ?? 'off'} min={props.min} step={props.step} list={props.list}
        onChange={(e) => props.onChange(e.target.value)} aria-describedby={props.hint ? `${id}-hint` : undefined}
      />
      {props.hint && <small id={`${id}-hint`}>{props.hint}</small>}
    </div>
  );
}

export function Select(props: { label: string; value: string; onChange: (v: string) => void; options: (string | { value: string; label: string })[]; required?: boolean }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} required={props.required} onChange={(e) => props.onChange(e.target.value)}>
        {props.options.map((o) => {
          const opt = typeof o === 'string' ? { value: o, label: o } : o;
          return <option key={opt.value} value={opt.value}>{opt.label}</option>;
        })}
      </select>
    </div>
  );
}

export function Table<T>(props: { caption: string; rows: T[]; columns: { header: string; cell: (row: T) => ReactNode }[]; rowKey: (row: T) => string; empty?: string }) {
  if (props.rows.length === 0) return <p className="empty">{props.empty ?? `No ${props.caption.toLowerCase()} yet.`}</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>{props.columns.map((c) => <th key={c.header} scope="col">{c.header}</th>)}</tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={props.rowKey(r)}>{props.columns.map((c) => <td key={c.header}>{c.cell(r)}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export const fmtCredits = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 6 });
/** Minor units shown in major units, with the currency's own number of decimals (JPY has none). */
export function fmtMoney(minor: number, currency: string): string {
  try {
    const f = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
    return f.format(minor / 10 ** (f.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${minor} ${currency} (minor units)`;
  }
}
export const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '—');

/** Previous and next page over a stack of cursors (the last one is the page shown). */
export function Pager(props: { cursors: string[]; setCursors: (update: (c: string[]) => string[]) => void; page: { hasMore: boolean; nextCursor: string | null } }) {
  const { cursors, setCursors, page } = props;
  return (
    <div className="actions">
      <button type="button" className="secondary" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous page</button>
      <button type="button" className="secondary" disabled={!page.hasMore} onClick={() => setCursors((c) => [...c, page.nextCursor!])}>Next page</button>
    </div>
  );
}

/** A catalog form's submit ("Create <what>", or "Save <what>" while editing one) and, while editing, Cancel. */
export function EditActions(props: { what: string; editing: boolean; disabled: boolean; onCancel: () => void }) {
  return (
    <div className="actions">
      <button type="submit" disabled={props.disabled}>{props.editing ? `Save ${props.what}` : `Create ${props.what}`}</button>
      {props.editing && <button type="button" className="secondary" onClick={props.onCancel}>Cancel</button>}
    </div>
  );
}
