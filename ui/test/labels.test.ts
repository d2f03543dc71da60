// Every code the UI shows a person has a Japanese label (and an English one). The union types
// are read from the generated bindings, so a new Rust variant without a label fails here even
// where a `Record<…>` would not be checked (a label copied in English only, or left empty).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  auditKindLabel,
  authenticityLabel,
  careEndLabel,
  idDocumentLabel,
  kindLabel,
  noteStatusLabel,
  roleLabel,
  sexLabel,
  sourceLabel,
  statusLabel,
  stepLabel,
  validityLabel,
  type Text,
} from '../src/i18n';

const bindings = readFileSync('src/ipc/bindings.ts', 'utf8');

/** The values of `export type Name = "a" | "b";` in the generated bindings. */
function unionValues(name: string): string[] {
  const m = bindings.match(new RegExp(`export type ${name} = ((?:"[^"]*"(?: \\| )?)+);`));
  if (!m?.[1]) throw new Error(`${name} is not a string union in bindings.ts`);
  return [...m[1].matchAll(/"([^"]*)"/g)].map((v) => v[1] ?? '');
}

const japanese = /[\u3040-\u30ff\u4e00-\u9fff]/;

const maps: Record<string, Record<string, Text>> = {
  AuditKind: auditKindLabel,
  VisitKind: kindLabel,
  VisitStatus: statusLabel,
  QualificationValidity: validityLabel,
  StaffRole: roleLabel,
  NoteStatus: noteStatusLabel,
  SettingSource: sourceLabel,
  CardStep: stepLabel,
  FaceAuthenticity: authenticityLabel,
  CareEndReason: careEndLabel,
  IdDocument: idDocumentLabel,
  Sex: sexLabel,
};

describe('labels for every code shown to a person', () => {
  for (const [name, map] of Object.entries(maps)) {
    it(`${name}: each value has a Japanese and an English label`, () => {
      const values = unionValues(name);
      expect(values.length).toBeGreaterThan(1);
      for (const v of values) {
        const l = map[v];
        expect(l, `${name}.${v} has no label`).toBeDefined();
        expect(l?.ja, `${name}.${v} has no Japanese label`).toMatch(japanese);
        expect(l?.en.trim(), `${name}.${v} has no English label`).not.toBe('');
      }
      // Nothing stale either: a label for a value Rust no longer sends.
      expect(Object.keys(map).sort()).toEqual([...values].sort());
    });
  }

  it('the parser itself finds a known union and refuses a missing one', () => {
    expect(unionValues('NoteStatus')).toEqual(['draft', 'signed']);
    expect(() => unionValues('NoSuchType')).toThrow();
  });
});
