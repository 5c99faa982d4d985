import { isIPv4, isIPv6 } from 'node:net'

/**
 * A coarse hint of where a session came from, never the address itself (CONTRACT §4): an IPv4
 * /24 as `203.0.113.x`, an IPv6 /48 as `2001:db8:1::/48`.
 */
export function ipHint(ip: string | undefined): string | null {
  if (!ip) return null
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.x`
  if (isIPv6(ip)) return `${expandIPv6(ip).slice(0, 3).join(':')}::/48`
  return null
}

function expandIPv6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const zeros = Array(Math.max(0, 8 - left.length - right.length)).fill('0')
  return [...left, ...(ip.includes('::') ? zeros : []), ...right].map((part) => part.replace(/^0+(?=.)/, ''))
}
