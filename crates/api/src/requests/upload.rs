//! Reading `POST /api/v1/requests`: the JSON part `request` and up to three `files`, each
//! checked by its content and streamed into the bundle zip on a blocking thread, so memory does
//! not grow with file size.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use actix_multipart::Multipart;
use actix_web::web::Bytes;
use cassetto_domain::filetype::{self, Detected, HEAD_LEN};
use cassetto_dto::requests::NewRequest;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;

pub const MAX_FILES: usize = 3;
const MAX_REQUEST_PART: usize = 64 * 1024;

/// A file inside a finished bundle.
#[derive(Debug, Clone)]
pub struct BundledFile {
    pub name: String,
    pub size: i64,
    pub content_type: String,
    pub sha256: String,
}

/// A bundle written to a temporary file, synced, not yet published.
#[derive(Debug)]
pub struct TempBundle {
    pub path: PathBuf,
    pub files: Vec<BundledFile>,
    pub size: i64,
    pub sha256: String,
}

impl TempBundle {
    pub async fn discard(self) {
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}

pub struct Upload {
    pub request: NewRequest,
    pub bundle: Option<TempBundle>,
}

enum Msg {
    Start { name: String, deflate: bool },
    Data(Bytes),
}

/// The zip writer ended before its input did: its own error tells why.
#[derive(Debug, thiserror::Error)]
#[error("bundle writer stopped")]
struct WriterStopped;

/// The zip writer, fed chunk by chunk from the async side.
struct BundleWriter {
    tx: mpsc::Sender<Msg>,
    handle: tokio::task::JoinHandle<anyhow::Result<(i64, String)>>,
}

impl BundleWriter {
    fn start(path: PathBuf) -> Self {
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let handle = tokio::task::spawn_blocking(move || -> anyhow::Result<(i64, String)> {
            let file = std::fs::File::create(&path)?;
            let mut zip = zip::ZipWriter::new(std::io::BufWriter::with_capacity(64 * 1024, file));
            while let Some(msg) = rx.blocking_recv() {
                match msg {
                    Msg::Start { name, deflate } => {
                        let method =
                            if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
                        let opts = zip::write::SimpleFileOptions::default()
                            .compression_method(method)
                            .compression_level(deflate.then_some(1))
                            .unix_permissions(0o644);
                        zip.start_file(name, opts)?;
                    }
                    Msg::Data(b) => zip.write_all(&b)?,
                }
            }
            let buf = zip.finish()?;
            let file = buf.into_inner().map_err(|e| anyhow::Error::new(e.into_error()).context("flush bundle"))?;
            // The digest is read back from the page cache while the disk syncs: the bytes are
            // final once written, durable once synced, and the two take about as long.
            std::thread::scope(|s| {
                let digest = s.spawn(|| hash_file(&path));
                file.sync_all()?;
                digest.join().map_err(|_| anyhow::anyhow!("bundle digest thread panicked"))?
            })
        });
        Self { tx, handle }
    }

    async fn send(&self, msg: Msg) -> ApiResult<()> {
        self.tx.send(msg).await.map_err(|_| ApiError::Internal(anyhow::Error::new(WriterStopped)))
    }

    async fn finish(self) -> ApiResult<(i64, String)> {
        drop(self.tx);
        self.handle
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("bundle writer: {e}")))?
            .map_err(|e| storage_error(e.context("writing the bundle")))
    }
}

/// A full disk or an unwritable store is a 503 the client may retry, not a 500.
pub fn storage_error(e: anyhow::Error) -> ApiError {
    let full = |io: &std::io::Error| io.raw_os_error() == Some(28) || io.kind() == std::io::ErrorKind::StorageFull;
    let no_space = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(full)
            || matches!(c.downcast_ref::<zip::result::ZipError>(), Some(zip::result::ZipError::Io(io)) if full(io))
    });
    if no_space {
        tracing::error!(error = ?e, "attachment store full");
        ApiError::Unavailable(
            "spazio per gli allegati esaurito: la richiesta non è stata registrata, riprovare più tardi".into(),
        )
    } else if e.downcast_ref::<crate::blobs::StoreUnavailable>().is_some() {
        tracing::error!(error = ?e, "attachment store unavailable");
        ApiError::Unavailable(
            "archivio degli allegati non raggiungibile: la richiesta non è stata registrata, riprovare più tardi"
                .into(),
        )
    } else {
        ApiError::Internal(e)
    }
}

fn hash_file(path: &Path) -> anyhow::Result<(i64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0i64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as i64;
        h.update(&buf[..n]);
    }
    Ok((size, hex::encode(h.finalize())))
}

fn deflatable(d: &Detected) -> bool {
    matches!(d.extension, "txt" | "csv" | "xml" | "tif")
}

fn unique_name(name: String, taken: &[BundledFile]) -> String {
    if !taken.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
        return name;
    }
    let (stem, ext) =
        name.rsplit_once('.').map(|(s, e)| (s.to_owned(), format!(".{e}"))).unwrap_or((name.clone(), String::new()));
    (2..)
        .map(|i| format!("{stem} ({i}){ext}"))
        .find(|cand| !taken.iter().any(|f| f.name.eq_ignore_ascii_case(cand)))
        .unwrap_or(name)
}

/// Reads the multipart body. Errors leave nothing behind.
pub async fn read_multipart(mut mp: Multipart, max_file_bytes: u64, temp_path: PathBuf) -> ApiResult<Upload> {
    let mut request: Option<NewRequest> = None;
    let mut writer: Option<BundleWriter> = None;
    let mut files: Vec<BundledFile> = Vec::new();
    let result: ApiResult<()> = async {
        while let Some(field) = mp.next().await {
            let mut field = field
                .map_err(|e| ApiError::BadRequest(format!("corpo multipart non valido: {}", short(&e.to_string()))))?;
            let part = field.name().unwrap_or("").to_owned();
            match part.as_str() {
                "request" => {
                    if request.is_some() {
                        return Err(ApiError::field("request", "la parte «request» va inviata una sola volta"));
                    }
                    let mut buf = Vec::new();
                    while let Some(chunk) = field.next().await {
                        let chunk = chunk.map_err(|_| ApiError::BadRequest("parte «request» non leggibile".into()))?;
                        if buf.len() + chunk.len() > MAX_REQUEST_PART {
                            return Err(ApiError::PayloadTooLarge("la parte «request» supera 64 KiB".into()));
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    request = Some(parse_json::<NewRequest>(&buf)?);
                }
                "files" | "files[]" => {
                    let index = files.len();
                    if index >= MAX_FILES {
                        return Err(ApiError::field(
                            format!("files[{index}]"),
                            format!("si possono allegare al massimo {MAX_FILES} file"),
                        ));
                    }
                    let raw_name = field
                        .content_disposition()
                        .and_then(|cd| cd.get_filename().map(str::to_owned))
                        .unwrap_or_default();
                    // The head decides the type before anything is written.
                    let mut head = Vec::with_capacity(HEAD_LEN);
                    let mut pending: Vec<Bytes> = Vec::new();
                    let mut size: u64 = 0;
                    // actix-multipart panics if a finished field is polled again.
                    let mut ended = false;
                    while head.len() < HEAD_LEN {
                        let Some(chunk) = field.next().await else {
                            ended = true;
                            break;
                        };
                        let chunk = chunk.map_err(|_| ApiError::BadRequest("file non leggibile".into()))?;
                        size += chunk.len() as u64;
                        let take = (HEAD_LEN - head.len()).min(chunk.len());
                        head.extend_from_slice(&chunk[..take]);
                        pending.push(chunk);
                    }
                    let detected = filetype::detect(&head, &raw_name).map_err(|msg| {
                        ApiError::UnsupportedMediaType(format!("il file «{}» non è ammesso: {msg}", short(&raw_name)))
                    })?;
                    let name = unique_name(filetype::sanitize_file_name(&raw_name, &detected), &files);
                    if writer.is_none() {
                        writer = Some(BundleWriter::start(temp_path.clone()));
                    }
                    let w = writer.as_ref().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("writer")))?;
                    w.send(Msg::Start { name: name.clone(), deflate: deflatable(&detected) }).await?;
                    let mut hasher = Sha256::new();
                    let too_big = || {
                        ApiError::PayloadTooLarge(format!(
                            "il file «{name}» supera il limite di {} MB per allegato",
                            max_file_bytes / (1024 * 1024)
                        ))
                    };
                    for chunk in pending {
                        if size > max_file_bytes {
                            return Err(too_big());
                        }
                        hasher.update(&chunk);
                        w.send(Msg::Data(chunk)).await?;
                    }
                    while !ended {
                        let Some(chunk) = field.next().await else {
                            ended = true;
                            continue;
                        };
                        let chunk = chunk.map_err(|_| ApiError::BadRequest("file non leggibile".into()))?;
                        size += chunk.len() as u64;
                        if size > max_file_bytes {
                            return Err(too_big());
                        }
                        hasher.update(&chunk);
                        w.send(Msg::Data(chunk)).await?;
                    }
                    files.push(BundledFile {
                        name,
                        size: size as i64,
                        content_type: detected.content_type.to_owned(),
                        sha256: hex::encode(hasher.finalize()),
                    });
                }
                other => {
                    return Err(ApiError::field(
                        short(other),
                        "parte non prevista: sono ammesse «request» e fino a tre «files»",
                    ));
                }
            }
        }
        Ok(())
    }
    .await;

    let finished = match writer {
        Some(w) => Some(w.finish().await),
        None => None,
    };
    let cleanup = || async {
        let _ = tokio::fs::remove_file(&temp_path).await;
    };
    if let Err(e) = result {
        cleanup().await;
        // The writer stopped on its own (a full disk…): its error is the cause to report.
        if matches!(&e, ApiError::Internal(inner) if inner.is::<WriterStopped>()) {
            if let Some(Err(cause)) = finished {
                return Err(cause);
            }
        }
        return Err(e);
    }
    let bundle = match finished {
        Some(Ok((size, sha256))) => Some(TempBundle { path: temp_path.clone(), files, size, sha256 }),
        Some(Err(e)) => {
            cleanup().await;
            return Err(e);
        }
        None => None,
    };
    let Some(request) = request else {
        if let Some(b) = bundle {
            b.discard().await;
        }
        return Err(ApiError::field("request", "manca la parte «request» con i dati della richiesta (JSON)"));
    };
    Ok(Upload { request, bundle })
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

/// A bundle from files already in memory (demo data, tools), through the same checks.
pub async fn bundle_from_files(files: Vec<(String, Vec<u8>)>, temp_path: PathBuf) -> ApiResult<TempBundle> {
    let writer = BundleWriter::start(temp_path.clone());
    let mut done: Vec<BundledFile> = Vec::new();
    for (raw_name, bytes) in files {
        let head = &bytes[..bytes.len().min(HEAD_LEN)];
        let detected = filetype::detect(head, &raw_name).map_err(ApiError::UnsupportedMediaType)?;
        let name = unique_name(filetype::sanitize_file_name(&raw_name, &detected), &done);
        writer.send(Msg::Start { name: name.clone(), deflate: deflatable(&detected) }).await?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as i64;
        writer.send(Msg::Data(Bytes::from(bytes))).await?;
        done.push(BundledFile { name, size, content_type: detected.content_type.to_owned(), sha256 });
    }
    let (size, sha256) = writer.finish().await?;
    Ok(TempBundle { path: temp_path, files: done, size, sha256 })
}
