//! User settings, by user and by category.

use stint_model::{
    RecordKind, Setting, SettingCategory, SettingId, TenantId, UserId, Validate, ValidationError,
};
use stint_store::Store;
use uuid::Uuid;

use crate::error::Result;
use crate::keys;
use crate::record::{self, Mode, Record, WriteCtx};

const BY_USER: &str = "setting_by_user";
const BY_CATEGORY: &str = "setting_by_category";

impl Record for Setting {
    const KIND: RecordKind = RecordKind::Setting;
    fn tenant(&self) -> TenantId {
        self.tenant_id
    }
    fn id(&self) -> Uuid {
        self.id.as_uuid()
    }
    fn index_keys(&self) -> Vec<Vec<u8>> {
        let (t, id) = (self.tenant_id, self.id.as_uuid());
        let (user, category, key) = (
            self.user_id.as_uuid(),
            self.category.as_str(),
            self.key.as_str(),
        );
        vec![
            keys::index(t, BY_USER).pack(&(user, category, key, id)),
            keys::index(t, BY_CATEGORY).pack(&(category, user, key, id)),
        ]
    }
    fn owner(&self) -> Option<UserId> {
        Some(self.user_id)
    }
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

/// The settings repository.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub(crate) store: &'a Store,
}

impl Settings<'_> {
    /// Sets a setting (creates or replaces).
    pub async fn set(&self, setting: &Setting, ctx: &WriteCtx<'_>) -> Result<()> {
        self.store
            .run(|tx| Box::pin(async move { record::write(tx, setting, ctx, Mode::Upsert).await }))
            .await
            .map(drop)
    }

    /// One setting of a user, if set.
    pub async fn get(
        &self,
        tenant: TenantId,
        user: UserId,
        category: SettingCategory,
        key: &str,
    ) -> Result<Option<Setting>> {
        let id = SettingId::for_key(user, category.as_str(), key).as_uuid();
        self.store
            .run(|tx| Box::pin(async move { record::get::<Setting>(tx, tenant, id).await }))
            .await
    }

    /// Deletes one setting of a user.
    pub async fn delete(
        &self,
        tenant: TenantId,
        user: UserId,
        category: SettingCategory,
        key: &str,
        ctx: &WriteCtx<'_>,
    ) -> Result<()> {
        let id = SettingId::for_key(user, category.as_str(), key).as_uuid();
        self.store
            .run(|tx| Box::pin(async move { record::remove::<Setting>(tx, tenant, id, ctx).await }))
            .await
    }

    /// Every setting of a user, by category then key.
    pub async fn all_of_user(&self, tenant: TenantId, user: UserId) -> Result<Vec<Setting>> {
        let prefix = keys::index(tenant, BY_USER)
            .subspace(&user.as_uuid())
            .bytes()
            .to_vec();
        self.by_prefix(tenant, prefix).await
    }

    /// A user's settings of one category, by key.
    pub async fn of_category(
        &self,
        tenant: TenantId,
        user: UserId,
        category: SettingCategory,
    ) -> Result<Vec<Setting>> {
        let prefix = keys::index(tenant, BY_USER)
            .subspace(&(user.as_uuid(), category.as_str()))
            .bytes()
            .to_vec();
        self.by_prefix(tenant, prefix).await
    }

    /// Every member's settings of one category (for tenant-wide defaults).
    pub async fn of_category_in_tenant(
        &self,
        tenant: TenantId,
        category: SettingCategory,
    ) -> Result<Vec<Setting>> {
        let prefix = keys::index(tenant, BY_CATEGORY)
            .subspace(&category.as_str())
            .bytes()
            .to_vec();
        self.by_prefix(tenant, prefix).await
    }

    async fn by_prefix(&self, tenant: TenantId, prefix: Vec<u8>) -> Result<Vec<Setting>> {
        record::list_by_index(self.store, tenant, &prefix, 0, false).await
    }
}
