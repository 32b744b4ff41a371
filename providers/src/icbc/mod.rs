//! ICBC open platform API gateway: sign-in and payment for the 融e联 channel.
