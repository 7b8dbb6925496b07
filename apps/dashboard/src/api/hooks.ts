import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { editCatalog, readCatalog, type CatalogBody, type SyncReport } from './catalog.ts';

export const useCatalog = () => useQuery({ queryKey: ['catalog'], queryFn: readCatalog });

/** A catalog edit through POST /v1/sync; the catalog is read again afterwards. */
export function useCatalogEdit() {
  const qc = useQueryClient();
  return useMutation<SyncReport, Error, (c: CatalogBody) => CatalogBody>({
    mutationFn: (change) => editCatalog(change),
    onSettled: () => qc.invalidateQueries({ queryKey: ['catalog'] }),
  });
}

export const describeSync = (r: SyncReport): string => {
  const parts: string[] = [];
  for (const [name, s] of [['features', r.features], ['credit systems', r.creditSystems], ['credit packs', r.creditPacks], ['plans', r.plans]] as const) {
    const bits = [s.created.length && `created ${s.created.join(', ')}`, s.updated.length && `updated ${s.updated.join(', ')}`, s.removed.length && `removed ${s.removed.join(', ')}`].filter(Boolean);
    if (bits.length) parts.push(`${name} ${bits.join(', ')}`);
  }
  return `Saved: catalog version ${r.version}${parts.length ? ` (${parts.join('; ')})` : ' (nothing changed)'}.${r.warnings.length ? ` Warnings: ${r.warnings.join(' ')}` : ''}`;
};
