import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import type { OutgoingMail } from '../domain/compose-mail.ts'
import type { Mailer } from './mailer.ts'
import { messageOf } from './smtp-mailer.ts'

/**
 * Writes each mail as `<delivery id>.eml` under `dir` instead of sending it (`npm start` without
 * SMTP_URL). The name is the delivery's, and the file is renamed into place whole: a retry after
 * a crash rewrites the same file, so one mail is one file.
 */
export async function createMailboxMailer(dir: string): Promise<Mailer> {
  await mkdir(dir, { recursive: true })
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    target: `${dir}/`,
    async send(mail: OutgoingMail) {
      const info = await transport.sendMail(messageOf(mail))
      const file = join(dir, `${mail.deliveryId}.eml`)
      const partial = join(dir, `.${mail.deliveryId}.eml.partial`)
      await writeFile(partial, info.message as Buffer, { mode: 0o600 })
      await rename(partial, file)
    },
    async close() {
      transport.close()
    },
  }
}
