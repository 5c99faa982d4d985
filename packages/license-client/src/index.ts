export {
  fingerprintHash,
  keySetFromJwks,
  LICENSE_TOKEN_ALGORITHM,
  LICENSE_TOKEN_TYPE,
  LicenseTokenError,
  verifyLicenseSignature,
  type Jwks,
  type KeySet,
  type LicenseClaims,
  type SignatureFailure,
} from './token.ts'
export {
  createLicenseVerifier,
  memoryClock,
  stateAt,
  type ClockMemory,
  type LicenseCheck,
  type LicenseRefusal,
  type LicenseState,
  type LicenseVerifier,
  type LicenseVerifierOptions,
} from './verifier.ts'
export {
  createLicenseClient,
  LicenseRefusedError,
  LicenseServiceError,
  type Activation,
  type LicenseClient,
  type LicenseClientOptions,
  type Validation,
  type ValidationCode,
} from './online.ts'
