//! Applications and service principals as Graph and the portal change them.

use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use crate::directory::{DirError, Directory, ServicePrincipal};

impl AppState {
    /// Creates the service principal of the application with client id `app_id`, named
    /// after it, as Graph does (the portal too); `shape` sets what the caller asked for
    /// before it is stored. Refused while the application is still replicating: right after
    /// an application is created, creating its service principal fails as if the
    /// application did not exist yet.
    pub(crate) fn create_service_principal<E: From<DirError>>(
        &self,
        app_id: Uuid,
        now: OffsetDateTime,
        shape: impl FnOnce(&mut ServicePrincipal) -> Result<(), E>,
    ) -> Result<ServicePrincipal, E> {
        let mut dir = self.directory_mut();
        let mut sp = self.new_service_principal(&dir, app_id, now)?;
        shape(&mut sp)?;
        dir.create_sp(sp.clone())?;
        Ok(sp)
    }

    fn new_service_principal(
        &self,
        dir: &Directory,
        app_id: Uuid,
        now: OffsetDateTime,
    ) -> Result<ServicePrincipal, DirError> {
        let app = dir
            .app_by_app_id(&app_id)
            .ok_or(DirError::NoBackingApplication(app_id))?;
        if now < app.created + self.config.graph_replication {
            return Err(DirError::NoBackingApplication(app_id));
        }
        Ok(ServicePrincipal::new(
            Uuid::new_v4(),
            app_id,
            app.display_name.clone(),
            now,
        ))
    }
}
