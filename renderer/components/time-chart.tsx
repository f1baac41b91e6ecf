import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import { formatTime } from '../format';

/**
 * A live time-series chart (uPlot, on canvas): time axis, a value axis in the figure's unit
 * that always starts at zero and never zooms tighter than `floor` (so 0.3 ms of jitter does
 * not look like a cliff), the span it covers, and the value under the pointer. Redrawn
 * with every sample, which arrives with the view the tiles show.
 */

export interface ChartPoint {
  t: number;
  v: number | null;
}

interface Props {
  title: string;
  points: ChartPoint[];
  format: (value: number | null) => string;
  /** Axis labels: shorter than `format`. */
  axis: (value: number) => string;
  /** The smallest top of the value axis. */
  floor: number;
  /** What an all-empty span means ("no requests", "not running"). */
  empty?: string;
}

function canDraw(): boolean {
  try {
    return typeof document !== 'undefined' && Boolean(document.createElement('canvas').getContext('2d'));
  } catch {
    return false;
  }
}

function palette(): { text: string; grid: string; line: string; fill: string } {
  const css = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  const line = read('--accent', '#0f8a7e');
  return { text: read('--muted', '#5b6472'), grid: read('--line', '#dde1e7'), line, fill: `color-mix(in srgb, ${line} 14%, transparent)` };
}

function spanWords(points: ChartPoint[]): string {
  if (points.length < 2) return 'just started';
  const seconds = Math.round((points.at(-1)!.t - points[0]!.t) / 1000);
  return seconds < 90 ? `last ${seconds} s` : `last ${Math.round(seconds / 60)} min`;
}

export function TimeChart({ title, points, format, axis, floor, empty = 'Nothing in this span' }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hover, setHover] = useState<ChartPoint | null>(null);
  const [theme, setTheme] = useState(() => (typeof document === 'undefined' ? '' : (document.documentElement.dataset.theme ?? '')));
  const drawable = useMemo(canDraw, []);
  const data = useMemo<uPlot.AlignedData>(() => [points.map((p) => p.t / 1000), points.map((p) => p.v)], [points]);
  // A chart with axes as soon as there are two points; an empty span says so over it.
  const hasData = points.length > 1;
  const anyValue = points.some((p) => p.v !== null);
  const latest = [...points].reverse().find((p) => p.v !== null)?.v ?? null;
  const format_ = useRef(format);
  format_.current = format;
  const latestData = useRef(data);
  latestData.current = data;

  // The palette lives in CSS; a theme change redraws with the new one.
  useEffect(() => {
    const observer = new MutationObserver(() => setTheme(document.documentElement.dataset.theme ?? ''));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const target = box.current;
    if (!drawable || !hasData || !target) return;
    const colors = palette();
    const axisStyle = { stroke: colors.text, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1, size: 4 }, font: '11px system-ui, sans-serif' };
    const options: uPlot.Options = {
      width: Math.max(120, target.clientWidth),
      height: 150,
      legend: { show: false },
      // Room on the right for the last time label.
      padding: [10, 34, 0, 0],
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(floor, (max ?? 0) * 1.15)] } },
      axes: [
        {
          ...axisStyle, space: 64, size: 26,
          values: (u, splits) => {
            const span = (u.scales.x!.max ?? 0) - (u.scales.x!.min ?? 0);
            const style: Intl.DateTimeFormatOptions = span < 180 ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false } : { hour: '2-digit', minute: '2-digit', hour12: false };
            return splits.map((s) => new Date(s * 1000).toLocaleTimeString([], style));
          },
        },
        { ...axisStyle, size: 54, space: 28, values: (_u, splits) => splits.map((s) => axis(s)) },
      ],
      // Points show where they are sparse (a lone sample between gaps would otherwise be invisible).
      series: [{}, { stroke: colors.line, width: 1.5, fill: colors.fill, spanGaps: false, points: { size: 5, fill: colors.line } }],
      hooks: {
        setCursor: [
          (u) => {
            const index = u.cursor.idx;
            if (index === null || index === undefined) return setHover(null);
            const x = u.data[0][index];
            const y = u.data[1]![index];
            setHover(x === undefined ? null : { t: x * 1000, v: y ?? null });
          },
        ],
      },
    };
    const chart = new uPlot(options, latestData.current, target);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(120, target.clientWidth), height: 150 }));
    resize.observe(target);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [drawable, hasData, theme]);
  // (axis and floor never change for a chart; the series itself flows in through setData.)

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure className="chart">
      <figcaption>
        <span>{title}</span>
        <strong>{format(latest)}</strong>
      </figcaption>
      <div className="chart-body" ref={box} role="img" aria-label={`${title}, ${spanWords(points)}${hasData ? `, latest ${format(latest)}` : ': no data yet'}`}>
        {!hasData && <div className="chart-placeholder">Collecting…</div>}
        {hasData && !drawable && <div className="chart-placeholder">{format(latest)}</div>}
        {hasData && drawable && !anyValue && <div className="chart-empty">{empty}</div>}
      </div>
      <div className="chart-readout" aria-live="off">{hover ? `${formatTime(hover.t)} · ${format_.current(hover.v)}` : spanWords(points)}</div>
    </figure>
  );
}
