//! The channel homes: WeChat's 大连交警 menus and 融e联's 大连智慧交通 menus (SPEC §2A). Built on `identity` and `ui`;
//! only the app's routes import it.

use leptos::prelude::*;

use crate::identity::api::{current_viewer, SignOut};
use crate::identity::model::{Channel, Viewer, WECHAT_SIGN_IN};
use crate::ui::{loaded, MenuLink, Screen};

/// `/`: the home of the viewer's channel.
#[component]
pub fn HomePage() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let viewer = Resource::new(move || sign_out.version().get(), |_| current_viewer());
    loaded(viewer, move |data: Viewer| match data {
        viewer => view! { <Home viewer sign_out/> }.into_any(),
    })
}

#[component]
fn Home(viewer: Viewer, sign_out: ServerAction<SignOut>) -> impl IntoView {
    let channel = viewer.channel;
    let authenticated = viewer.real_name.is_some();
    view! {
        <Screen channel title=channel.account_name()>
            {(!viewer.signed_in).then(|| view! {
                <p class="home__hint">{format!("请从{}「{}」进入以使用全部功能。未登录时可办理以下业务：", channel.platform_name(), channel.account_name())}</p>
            })}
            {(!viewer.signed_in && channel == Channel::Wechat).then(|| view! {
                <p class="weui-btn-area"><a class="weui-btn weui-btn_primary" href=WECHAT_SIGN_IN>"微信授权登录"</a></p>
            })}
            {(viewer.signed_in && !authenticated).then(|| view! {
                <div class="weui-cells">
                    <MenuLink href="/realname" label="实名认证" hint="未认证"/>
                </div>
            })}
            {match (channel, viewer.signed_in) {
                (_, false) => guest_menu().into_any(),
                (Channel::Wechat, true) => wechat_menu(authenticated).into_any(),
                (Channel::Icbc, true) => icbc_menu(authenticated).into_any(),
            }}
            {viewer.signed_in.then(|| view! {
                <ActionForm action=sign_out attr:class="home__sign-out">
                    <button type="submit" class="weui-btn weui-btn_default">"退出登录"</button>
                </ActionForm>
            })}
        </Screen>
    }
}

fn guest_menu() -> impl IntoView {
    view! {
        <div class="weui-cells">
            <MenuLink href="/guest-pay" label="缴纳罚款" hint="凭决定书编号"/>
            <MenuLink href="/card-apply" label="申办交通服务卡"/>
            <MenuLink href="/card-apply/status" label="申请进度查询" hint="交通服务卡"/>
        </div>
    }
}

fn wechat_menu(authenticated: bool) -> impl IntoView {
    view! {
        <div class="weui-cells__title">"自助办理"</div>
        <div class="weui-cells">
            <MenuLink href="/traffic" label="交通违法缴罚"/>
            <MenuLink href="/realname" label="实名认证" hint=if authenticated { "已认证" } else { "" }/>
        </div>
        <div class="weui-cells__title">"警民互动"</div>
        <div class="weui-cells">
            <MenuLink href="/study" label="审验学习"/>
        </div>
    }
}

fn icbc_menu(authenticated: bool) -> impl IntoView {
    view! {
        {authenticated.then(|| view! {
            <div class="weui-cells__title">"违章处理"</div>
            <div class="weui-cells">
                <MenuLink href="/violations" label="交通违法处理"/>
                <MenuLink href="/fines" label="交通罚款缴纳"/>
                <MenuLink href="/vehicles" label="已绑定车辆信息"/>
            </div>
            <div class="weui-cells">
                <MenuLink href="/realname" label="实名认证" hint="已认证"/>
            </div>
        })}
        <div class="weui-cells__title">"其他业务"</div>
        <div class="weui-cells">
            <MenuLink href="/guest-pay" label="缴纳罚款" hint="凭决定书编号"/>
            <MenuLink href="/card-apply" label="申办交通服务卡"/>
            <MenuLink href="/card-apply/status" label="申请进度查询" hint="交通服务卡"/>
            <MenuLink href="/study" label="审验学习"/>
        </div>
    }
}

/// `/traffic`: WeChat's 交通违法缴罚 hub, reached after 实名认证 (the guide's 微信违法处理平台页面).
#[component]
pub fn TrafficHubPage() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| current_viewer());
    loaded(viewer, move |data: Viewer| match data {
        viewer if viewer.real_name.is_none() => view! {
            <Screen channel=viewer.channel title="交通违法缴罚">
                <p class="flash flash_error" role="alert">"请先完成实名认证"</p>
                <div class="weui-cells"><MenuLink href="/realname" label="实名认证"/></div>
            </Screen>
        }
        .into_any(),
        viewer => view! {
            <Screen channel=viewer.channel title="交通违法缴罚">
                <div class="weui-cells">
                    <MenuLink href="/vehicles" label="已绑定车辆信息"/>
                    <MenuLink href="/violations" label="交通违法处理"/>
                    <MenuLink href="/fines" label="交通罚款缴纳"/>
                </div>
            </Screen>
        }
        .into_any(),
    })
}
