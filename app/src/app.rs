//! The HTML shell and the routes: the top of the crate, importing every area's screens; only `server` imports it.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::cards::console_pages::{ApplicationDetailPage, ApplicationsPage};
use crate::cards::pages::{CardApplyPage, CardStatusPage};
use crate::console::pages::{
    ConsoleAuditPage, ConsoleExportPage, ConsoleHomePage, ConsoleImportPage, ConsoleLoginPage,
};
use crate::home::{HomePage, TrafficHubPage};
use crate::identity::pages::{RealNamePage, UnbindPage};
use crate::payments::console::pages::{ConsolePaymentsPage, PaymentExceptionsPage, ReconciliationPage};
use crate::payments::pages::{GuestDecisionPage, GuestPayPage, PayPage, PaymentResultPage, ReceiptPage, WxPayPage};
use crate::study::pages::{CertificatePage, CoursePage, CoursesPage, QuizPage, StudyPage, VerifyPage};
use crate::violations::pages::{
    DecisionResultPage, FinesPage, RecordPage, VehicleRecordsPage, VehicleUnbindPage, VehiclesPage, ViolationsPage,
};

/// The document around every page; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let assets = asset_tags(&options);
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="format-detection" content="telephone=no"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href="/vendor/weui.min.css"/>
                {assets}
                <AutoReload options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The stylesheet and the islands' hydration script, rendered once per process. Leptos's `HashedStylesheet` and
/// `HydrationScripts` read `hash.txt` from disk on every page they render, which cost about 8% of a page's CPU time
/// under load (BENCHMARKS.md); the tags cannot change while the process runs, since a rebuild restarts it. They are
/// rendered under a root owner of their own, so no request's CSP nonce is baked in (the app sends no CSP header).
fn asset_tags(options: &LeptosOptions) -> leptos::tachys::html::InertElement {
    static TAGS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // What `HydrationScripts` does besides writing tags: in islands mode, only islands hydrate.
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(false);
    }
    let tags = TAGS.get_or_init(|| {
        let request_owner = Owner::current();
        // `new_root` makes itself the thread's current owner; the request's owner is put back afterwards.
        let root = Owner::new_root(None);
        let tags = root.with(|| {
            view! {
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options=options.clone() islands=true/>
            }
            .to_html()
        });
        match request_owner {
            Some(owner) => owner.set(),
            None => root.unset(),
        }
        tags
    });
    leptos::tachys::html::InertElement::new(tags.as_str())
}

/// The application: every route renders fully on the server (`SsrMode::Async`), so pages work without wasm.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <HydrationMarker/>
        <Title text="大连智慧交通"/>
        <Router>
            <main class="app">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/realname") view=RealNamePage ssr=SsrMode::Async/>
                    <Route path=path!("/realname/unbind") view=UnbindPage ssr=SsrMode::Async/>
                    <Route path=path!("/traffic") view=TrafficHubPage ssr=SsrMode::Async/>
                    <Route path=path!("/violations") view=ViolationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/violations/vehicle") view=VehicleRecordsPage ssr=SsrMode::Async/>
                    <Route path=path!("/violations/record") view=RecordPage ssr=SsrMode::Async/>
                    <Route path=path!("/violations/decision") view=DecisionResultPage ssr=SsrMode::Async/>
                    <Route path=path!("/fines") view=FinesPage ssr=SsrMode::Async/>
                    <Route path=path!("/fines/pay") view=PayPage ssr=SsrMode::Async/>
                    <Route path=path!("/fines/result") view=PaymentResultPage ssr=SsrMode::Async/>
                    <Route path=path!("/fines/wxpay") view=WxPayPage ssr=SsrMode::Async/>
                    <Route path=path!("/fines/receipt") view=ReceiptPage ssr=SsrMode::Async/>
                    <Route path=path!("/vehicles") view=VehiclesPage ssr=SsrMode::Async/>
                    <Route path=path!("/vehicles/unbind") view=VehicleUnbindPage ssr=SsrMode::Async/>
                    <Route path=path!("/study") view=StudyPage ssr=SsrMode::Async/>
                    <Route path=path!("/study/quiz") view=QuizPage ssr=SsrMode::Async/>
                    <Route path=path!("/study/courses") view=CoursesPage ssr=SsrMode::Async/>
                    <Route path=path!("/study/course") view=CoursePage ssr=SsrMode::Async/>
                    <Route path=path!("/study/certificate") view=CertificatePage ssr=SsrMode::Async/>
                    <Route path=path!("/verify/:code") view=VerifyPage ssr=SsrMode::Async/>
                    <Route path=path!("/guest-pay") view=GuestPayPage ssr=SsrMode::Async/>
                    <Route path=path!("/guest-pay/decision") view=GuestDecisionPage ssr=SsrMode::Async/>
                    <Route path=path!("/card-apply") view=CardApplyPage ssr=SsrMode::Async/>
                    <Route path=path!("/card-apply/status") view=CardStatusPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/login") view=ConsoleLoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/console") view=ConsoleHomePage ssr=SsrMode::Async/>
                    <Route path=path!("/console/import") view=ConsoleImportPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/audit") view=ConsoleAuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/export") view=ConsoleExportPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/applications") view=ApplicationsPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/applications/detail") view=ApplicationDetailPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/payments") view=ConsolePaymentsPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/payments/reconciliation") view=ReconciliationPage ssr=SsrMode::Async/>
                    <Route path=path!("/console/payments/exceptions") view=PaymentExceptionsPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// Marks the page once the wasm has loaded and islands hydrated, so end-to-end tests can wait for it.
#[island]
fn HydrationMarker() -> impl IntoView {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <div class="weui-msg">
            <div class="weui-msg__text-area">
                <h1 class="weui-msg__title">"页面不存在"</h1>
            </div>
            <div class="weui-msg__opr-area">
                <a class="weui-btn weui-btn_default" href="/">"返回首页"</a>
            </div>
        </div>
    }
}
