import type { AppError } from '@tally/runtime';
import { analyticsErrors } from '../errors.ts';

/** What one upload may cost the API: memory is bounded by construction, these bound bytes and disk. */
export interface SpoolLimits {
  /** Decompressed bytes of one upload (the body itself when it is not compressed). */
  maxBytes: number;
  /** Decompressed bytes per compressed byte a gzip upload may reach, checked once past RATIO_FLOOR_BYTES. */
  maxRatio: number;
  /** Bytes on disk across one tenant's unfinished imports, this upload included. */
  tenantQuotaBytes: number;
}

const GiB = 1024 ** 3;
export const DEFAULT_SPOOL_LIMITS: SpoolLimits = { maxBytes: 2 * GiB, maxRatio: 100, tenantQuotaBytes: 10 * GiB };

/** A small file of repeated lines compresses far beyond any ratio; the ratio only matters for large outputs. */
export const RATIO_FLOOR_BYTES = 1 << 20;

/** The setting behind each limit: the 413 names it, so an operator knows what to raise. */
export type SpoolLimitName = 'IMPORT_MAX_BYTES' | 'IMPORT_MAX_COMPRESSION_RATIO' | 'IMPORT_TENANT_SPOOL_QUOTA_BYTES';

export const limitExceeded = (limit: SpoolLimitName, max: number, message: string): AppError =>
  analyticsErrors.import_limit_exceeded(`${message} (${limit} = ${max})`, { details: { limit, max } });

/** Counts compressed and decompressed bytes of one upload and throws the 413 of the first limit they pass. */
export class UploadMeter {
  compressedBytes = 0;
  decompressedBytes = 0;

  constructor(
    private readonly limits: SpoolLimits,
    private readonly gzip: boolean,
  ) {}

  addCompressed(n: number): void {
    this.compressedBytes += n;
  }

  addDecompressed(n: number): void {
    this.decompressedBytes += n;
    const { maxBytes, maxRatio } = this.limits;
    if (this.decompressedBytes > maxBytes) {
      throw limitExceeded('IMPORT_MAX_BYTES', maxBytes, `the upload is larger than ${maxBytes} bytes${this.gzip ? ' once decompressed' : ''}`);
    }
    if (this.gzip && this.decompressedBytes > RATIO_FLOOR_BYTES && this.decompressedBytes > maxRatio * this.compressedBytes) {
      throw limitExceeded('IMPORT_MAX_COMPRESSION_RATIO', maxRatio, `the upload decompresses to more than ${maxRatio} times its compressed size`);
    }
  }
}

/** The tenant's spool quota: bytes already on disk for its other unfinished imports, re-read as this upload grows. */
export interface SpoolQuota {
  limitBytes: number;
  otherBytes(): Promise<number>;
}

/** How much an upload may write between two looks at the tenant's other imports (they grow concurrently). */
export const QUOTA_RESCAN_BYTES = 16 << 20;

export class QuotaGuard {
  private others = 0;
  private scannedAt = -Infinity;

  constructor(private readonly quota: SpoolQuota) {}

  /** Throws the 413 when `written` (this upload's bytes on disk) plus the others' pass the quota. */
  async check(written: number): Promise<void> {
    if (written - this.scannedAt >= QUOTA_RESCAN_BYTES) {
      this.others = await this.quota.otherBytes();
      this.scannedAt = written;
    }
    const { limitBytes } = this.quota;
    if (this.others + written > limitBytes) {
      throw limitExceeded(
        'IMPORT_TENANT_SPOOL_QUOTA_BYTES',
        limitBytes,
        `this tenant's unfinished imports would hold more than ${limitBytes} bytes on disk; wait for them to finish or cancel one`,
      );
    }
  }
}
