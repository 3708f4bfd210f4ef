'use strict'
// A small SVG bar chart of clawsock's advantage ratios (log scale, 1× line):
// vs ws and vs Node 24 for the socket rows, vs @openclaw/gateway-client for
// the gateway event stream.
// No dependencies.

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function renderSvg(ratios, report) {
  const rowH = 34
  const left = 290
  const width = 800
  const plotW = width - left - 60
  const top = 56
  const height = top + ratios.length * rowH + 50
  const lo = 1 / 8
  const hi = 8
  const x = (v) => left + ((Math.log2(Math.min(hi, Math.max(lo, v))) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo))) * plotW
  const out = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`)
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">clawsock advantage (× better; right of 1× = clawsock wins)</text>`)
  out.push(`<text x="${width / 2}" y="38" text-anchor="middle" fill="#555">${esc(`${report.date.slice(0, 10)} · Node ${report.node.primary} · ${report.machine.cpu} × ${report.machine.cores} cores · median of ${report.runs} runs`)}</text>`)
  for (const t of [0.125, 0.25, 0.5, 1, 2, 4, 8]) {
    const xx = x(t)
    out.push(`<line x1="${xx}" y1="${top - 4}" x2="${xx}" y2="${top + ratios.length * rowH}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`)
    out.push(`<text x="${xx}" y="${top + ratios.length * rowH + 16}" text-anchor="middle" fill="#555">${t}×</text>`)
  }
  ratios.forEach((r, i) => {
    const y = top + i * rowH
    out.push(`<text x="${left - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(r.label)}</text>`)
    const bars = [['vs ws', r.vsWs, '#2b6cb0', 0], ['vs Node 24', r.vsNode, '#dd6b20', 1], ['vs @openclaw/gateway-client', r.vsGw, '#38a169', 0]]
    for (const [name, v, color, k] of bars) {
      if (v == null) continue
      const x0 = x(1)
      const x1 = x(v)
      const by = y + 5 + k * 12
      out.push(`<rect x="${Math.min(x0, x1)}" y="${by}" width="${Math.max(1, Math.abs(x1 - x0))}" height="11" fill="${color}"><title>${esc(`${r.label} ${name}: ${v.toFixed(2)}×`)}</title></rect>`)
      out.push(`<text x="${Math.max(x0, x1) + 4}" y="${by + 10}" font-size="10" fill="#333">${v.toFixed(2)}×</text>`)
    }
  })
  const ly = height - 16
  const gw = ratios.some((r) => r.vsGw != null)
  const lx = gw ? 60 : left // three entries need the whole width
  out.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="#2b6cb0"/><text x="${lx + 14}" y="${ly}">vs ws@8 (+bufferutil)</text>`)
  out.push(`<rect x="${lx + 170}" y="${ly - 9}" width="10" height="10" fill="#dd6b20"/><text x="${lx + 184}" y="${ly}">vs Node 24 global WebSocket</text>`)
  if (gw) out.push(`<rect x="${lx + 380}" y="${ly - 9}" width="10" height="10" fill="#38a169"/><text x="${lx + 394}" y="${ly}">vs @openclaw/gateway-client</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}

module.exports = { renderSvg }
