//! The domain of Cassetto: validated INPS identifiers, roles, the quesito status machine,
//! the protocol stamp and the ambiti's detail fields.
//!
//! Every type here is parsed once at the edge (`parse`) so the rest of the code never handles
//! an invalid matricola or status.

pub mod ambito;
pub mod filetype;
pub mod ids;
pub mod protocollo;
pub mod role;
pub mod status;

pub use ambito::FieldType;
pub use ids::{mask_email, mask_middle, CodiceFiscale, Matricola, Mobile, ParseError, SedeCode, Username};
pub use protocollo::{italian_date, italian_day_start, Protocollo};
pub use role::Role;
pub use status::{EsitoCode, Status, TransitionError};
