// Tells a Postgres error caused by a record's content apart from the database being unavailable.

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the record is at fault, not the database. */
export const isRecordError = (error: unknown): boolean => /^2[23]/.test(String((error as { code?: unknown } | null)?.code ?? ''))
