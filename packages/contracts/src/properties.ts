import { z } from 'zod';

/**
 * The one cap on an event's `properties`, for every path that stores them
 * (/v1/track, /v1/check with sendEvent, imports): 8 KiB of serialized JSON.
 */
export const MAX_PROPERTIES_BYTES = 8 * 1024;
export const PROPERTIES_RULE = `properties must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON`;

/** True when `json` (properties as JSON.stringify writes them) is over the cap. The length test skips the byte count for short text. */
export const propertiesJsonTooLarge = (json: string): boolean =>
  json.length > MAX_PROPERTIES_BYTES / 3 && Buffer.byteLength(json) > MAX_PROPERTIES_BYTES;

/** The `properties` field of a request body: an object of at most MAX_PROPERTIES_BYTES of JSON. */
export const propertiesSchema = z
  .record(z.string(), z.unknown())
  .refine((p) => !propertiesJsonTooLarge(JSON.stringify(p)), PROPERTIES_RULE);
