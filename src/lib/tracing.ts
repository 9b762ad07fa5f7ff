// OpenTelemetry traces of the request path, exported over OTLP/HTTP when an endpoint is configured; without one, nothing runs.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type TextMapGetter } from '@opentelemetry/api'
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

let provider: NodeTracerProvider | null = null
const TRACER = 'meterway'

/**
 * Registers the global tracer provider: spans batched to `${endpoint}/v1/traces` (OTLP/HTTP, JSON). Registering also
 * installs the async context manager, so spans started inside a request (Elysia's routes, ours) find their parent.
 */
export async function startTracing(endpoint: string, serviceName: string): Promise<void> {
  if (provider) return
  // Loaded only when tracing is on: the SDK costs ~0.3 s and ~20 MB at import.
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor, NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-node'),
  ])
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` })
  const started = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500 })],
  })
  started.register()
  provider = started
}

/** Elysia's OpenTelemetry plugin, for the routes Elysia serves (loaded only when tracing is on: ~1 s and ~50 MB at import). */
export async function elysiaTracing(serviceName: string) {
  const { opentelemetry } = await import('@elysiajs/opentelemetry')
  return opentelemetry({ serviceName })
}

export const tracingEnabled = () => provider !== null

/** Sends the spans still batched (shutdown). */
export async function stopTracing(): Promise<void> {
  const stopping = provider
  provider = null
  await stopping?.shutdown().catch(() => {})
}

/** Ends a child span: with the error when it failed. */
export type EndSpan = (error?: unknown) => void

/** One request's span and its children (admission, upstream, settle). */
export interface RequestTrace {
  readonly traceId: string
  /** A child span, started now. */
  child(name: string, attributes?: Attributes): EndSpan
  setAttributes(attributes: Attributes): void
  /** Ends the request's span with its HTTP status; only the first call counts. */
  end(status: number): void
  /** The exchange ends the span at its finish (a stream's last byte), not the handler at the response's start. */
  ownedByExchange: boolean
  /** Runs `fn` with this request's span active: log lines written meanwhile carry its trace id. */
  run<T>(fn: () => T): T
}

function endWith(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : String(error))
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
  }
  span.end()
}

const fromHeaders: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
}

/**
 * A request's root span, or undefined when tracing is off (the hot path then pays one check). A caller's W3C
 * `traceparent` makes it a child of the caller's trace.
 */
export function startRequestTrace(name: string, headers: Headers, attributes: Attributes): RequestTrace | undefined {
  if (!provider) return undefined
  const tracer = trace.getTracer(TRACER)
  const root = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, propagation.extract(context.active(), headers, fromHeaders))
  const parent = trace.setSpan(context.active(), root)
  let ended = false
  return {
    traceId: root.spanContext().traceId,
    ownedByExchange: false,
    child(childName, childAttributes) {
      const span = tracer.startSpan(childName, childAttributes ? { attributes: childAttributes } : {}, parent)
      return (error) => endWith(span, error)
    },
    setAttributes: (more) => void root.setAttributes(more),
    run: (fn) => context.with(parent, fn),
    end(status) {
      if (ended) return
      ended = true
      root.setAttribute('http.response.status_code', status)
      if (status >= 500) root.setStatus({ code: SpanStatusCode.ERROR })
      root.end()
    },
  }
}

/** The trace id of the span active here, for log lines (undefined when tracing is off or no span is active). */
export function activeTraceId(): string | undefined {
  if (!provider) return undefined
  return trace.getActiveSpan()?.spanContext().traceId
}
