/** The platform's roles (CONTRACT §4): `user` owns its data, `reseller` issues licenses, `admin` everything. */
export const ROLES = ['user', 'reseller', 'admin'] as const
export type Role = (typeof ROLES)[number]
