//! 大连智慧交通: the Leptos application shared by the server (ssr) and the browser (hydrate).

pub mod app;
pub mod cards;
pub mod console;
pub mod domain;
pub mod error;
pub mod home;
pub mod identity;
pub mod payments;
pub mod study;
pub mod ui;
pub mod violations;

#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod platform;

#[cfg(test)]
mod tests_no_panic;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Pages are server-rendered forms that work without JavaScript; only islands (the video player) hydrate.
    leptos::mount::hydrate_islands();
}
