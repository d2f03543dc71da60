//! A build without the `training` feature (production): there is no synthetic clinic and no
//! synthetic card, so training mode says so instead of starting.

use super::*;

fn training_not_in_this_build() -> UiError {
    UiError::new(
        AppErrorCode::TrainingUnavailable,
        "このアプリには訓練モードが含まれていません。端末を登録してください。",
        "This build of the app has no training mode. Enroll the device.",
    )
}

impl Service {
    pub fn open(_opts: &ServiceOptions) -> Result<Self, UiError> {
        Err(training_not_in_this_build())
    }

    pub fn demo_cards(&self) -> Vec<DemoCard> {
        Vec::new()
    }

    pub fn demo_place_card(&mut self, _id: Option<&str>, _remove_after: Option<u32>) -> Result<(), UiError> {
        Err(training_not_in_this_build())
    }
}
