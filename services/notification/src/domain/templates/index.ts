import type { MailTemplate } from './template.ts'
import { licenseIssued } from './license-issued.ts'
import { passwordReset } from './password-reset.ts'
import { securityAlert, securityAlertAdmin } from './security-alert.ts'
import { subscriptionReceipt } from './subscription-receipt.ts'
import { verifyEmail } from './verify-email.ts'

/** Every mail the service sends, by the name stored in `deliveries.template`. */
export const TEMPLATES = {
  verify_email: verifyEmail,
  password_reset: passwordReset,
  security_alert: securityAlert,
  security_alert_admin: securityAlertAdmin,
  license_issued: licenseIssued,
  subscription_receipt: subscriptionReceipt,
} as const

export type TemplateName = keyof typeof TEMPLATES

/** The params type of one template. */
export type ParamsOf<N extends TemplateName> = (typeof TEMPLATES)[N] extends MailTemplate<infer P> ? P : never

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(TEMPLATES, name)
}
