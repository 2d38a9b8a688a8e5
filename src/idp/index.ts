// Public API of the embedded demo identity provider.
export {
  DEFAULT_REDIRECT_URIS,
  DEVICE_CODE_GRANT,
  type DemoClient,
  type DemoIdentityProvider,
  type DemoIdentityProviderOptions,
  type DemoUser,
  startDemoIdentityProvider,
} from "./provider.js";
