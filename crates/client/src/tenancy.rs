//! Which tenant the device acts in: a user belongs to a personal tenant
//! and maybe organizations, and switches between them. Sessions listed,
//! started and synced are those of the current tenant; each tenant keeps
//! its own pull cursor, so switching back resumes where sync left off.

use stint_model::api::{SwitchTenantRequest, TenantWithRole, TokenResponse};

use crate::account::{self, Account};
use crate::device::{Device, one_by_prefix};
use crate::error::Result;

impl Device {
    /// The tenants the signed-in user belongs to, with the role in each
    /// (asks the server).
    pub async fn tenants(&self) -> Result<Vec<TenantWithRole>> {
        let credentials = self.credentials()?;
        let token = self.access_token().await?;
        let response = self
            .server(&credentials.server)?
            .get("/tenants", &(), &token)
            .await?;
        account::answer(response).await
    }

    /// Acts in tenant `id` (or the one tenant of the user's whose id
    /// starts with it) from now on. The login of the tenant left is
    /// revoked on the server.
    pub async fn switch_tenant(&self, id: &str) -> Result<Account> {
        let tenant_id = one_by_prefix(
            self.tenants().await?,
            |t| t.tenant.id.to_string(),
            id,
            "tenant",
        )?
        .tenant
        .id;
        let before = self.credentials()?;
        let old_token = self.access_token().await?;
        let server = self.server(&before.server)?;
        let response: TokenResponse = server
            .call(
                "/auth/switch-tenant",
                &SwitchTenantRequest { tenant_id },
                &old_token,
            )
            .await?;
        let account = self.keep_login(server.base(), response)?.account();
        if let Err(e) = server.logout(&old_token).await {
            tracing::info!("the previous tenant's login was not revoked: {e}");
        }
        Ok(account)
    }
}
