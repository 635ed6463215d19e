//! The `tuf` interface: converts between WIT types and the core's TUF client.

use std::cell::RefCell;

use crate::bindings::exports::sigward::verifier::tuf as wit;
use sigward_core::tuf::{self, TufError};

pub struct Client(RefCell<tuf::Client>);

impl wit::Guest for crate::Component {
    type Client = Client;
}

impl wit::GuestClient for Client {
    fn new(now: i64, offline: bool) -> Self {
        Self(RefCell::new(tuf::Client::new(now, offline)))
    }

    fn next(&self, target: Option<String>) -> Result<wit::Step, wit::TufError> {
        let step = self.0.borrow_mut().next(target.as_deref()).map_err(error)?;
        Ok(match step {
            tuf::Step::Fetch(request) => wit::Step::Fetch(wit::Request {
                source: match request.source {
                    tuf::Source::Local => wit::Source::Local,
                    tuf::Source::Remote => wit::Source::Remote,
                },
                path: request.path,
                max_length: request.max_length,
            }),
            tuf::Step::Ready => wit::Step::Ready,
            tuf::Step::Found(info) => wit::Step::Found(wit::TargetInfo {
                path: info.path,
                remote_path: info.remote_path,
                local_name: info.local_name,
                length: info.length,
            }),
        })
    }

    fn deliver(&self, body: Option<Vec<u8>>) -> Result<Option<String>, wit::TufError> {
        self.0.borrow_mut().deliver(body.as_deref()).map_err(error)
    }

    fn check_target(&self, path: String, body: Vec<u8>) -> Result<(), wit::TufError> {
        self.0.borrow().check_target(&path, &body).map_err(error)
    }

    fn expires(&self) -> Option<i64> {
        self.0.borrow().expires()
    }
}

fn error(e: TufError) -> wit::TufError {
    wit::TufError {
        check: e.check().to_owned(),
        message: e.to_string(),
    }
}
