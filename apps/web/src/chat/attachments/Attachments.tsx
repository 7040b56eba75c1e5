/**
 * Files in the chat: uploads (button, drag and drop, paste) with a progress bar and cancel per
 * file, voice messages (MediaRecorder), and what a message shows of its files: an image grid with
 * a lightbox, video and audio players, file cards.
 */
import { useCallback, useEffect, useRef, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { formatNumber } from '../../format';
import { parley, type RouterOutputs } from '../../trpc';
import './attachments.css';

export type Attachment = RouterOutputs['messages']['send']['attachments'][number];

/** The server's default MAX_UPLOAD_BYTES; it checks again and answers PAYLOAD_TOO_LARGE. */
export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
export const MAX_FILES = 10;

export function formatSize(bytes: number) {
  if (bytes < 1024) return `${formatNumber(bytes)} B`;
  if (bytes < 1024 * 1024) return `${formatNumber(Math.round(bytes / 102.4) / 10)} KB`;
  return `${formatNumber(Math.round(bytes / 104857.6) / 10)} MB`;
}

function FileIcon({ className }: { className: string }) {
  return (
    <svg className={className} viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
      <path
        fill="currentColor"
        d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5zM8 13h8v1.5H8zm0 3h8v1.5H8z"
      />
    </svg>
  );
}

/** A message of files only, in the conversation list: "Photo", "3 files", "Voice message"... */
export function filesPreview(items: Attachment[], t: TFunction<'files'> | TFunction<'chat'>) {
  const kind = items.every((a) => a.kind === items[0]!.kind) ? items[0]!.kind : 'file';
  return t(`files:preview.${kind}`, { count: items.length });
}

export interface UploadItem {
  key: string;
  name: string;
  size: number;
  /** 0..1 */
  progress: number;
  status: 'uploading' | 'done' | 'error';
  error?: string;
  attachment?: Attachment;
  /** A local preview of an image while it uploads. */
  preview?: string;
  cancel(): void;
}

/** An upload refused or failed; its message is for the user. */
export class UploadRefused extends Error {}

/**
 * createUpload, then the bytes by XHR (for upload progress), then the checked attachment. Without
 * `conversationId` the upload is a profile picture (Settings → Profile).
 */
export function uploadFile(
  file: File,
  conversationId: string | undefined,
  onProgress: (fraction: number) => void,
  onXhr: (xhr: XMLHttpRequest) => void,
  t: TFunction<'files'>,
): Promise<Attachment> {
  if (file.size > MAX_UPLOAD_BYTES)
    return Promise.reject(
      new UploadRefused(t('errors.tooLarge', { name: file.name, max: formatSize(MAX_UPLOAD_BYTES) })),
    );
  if (file.size === 0) return Promise.reject(new UploadRefused(t('errors.empty', { name: file.name })));
  const contentType = file.type || 'application/octet-stream';
  return parley.api.attachments.createUpload
    .mutate({ ...(conversationId ? { conversationId } : {}), name: file.name || 'file', size: file.size, contentType })
    .catch((err: { data?: { code?: string }; message?: string }) => {
      if (err.data?.code === 'PAYLOAD_TOO_LARGE')
        throw new UploadRefused(t('errors.tooLarge', { name: file.name, max: formatSize(MAX_UPLOAD_BYTES) }));
      throw new UploadRefused(err.message ?? t('errors.failed', { name: file.name }));
    })
    .then(
      (slot) =>
        new Promise<Attachment>((resolve, reject) => {
          const xhr = new XMLHttpRequest();
          onXhr(xhr);
          xhr.open(slot.method, slot.uploadUrl);
          for (const [k, v] of Object.entries(slot.headers)) xhr.setRequestHeader(k, v);
          xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
          xhr.onload = () => {
            if (xhr.status === 200)
              return resolve((JSON.parse(xhr.responseText) as { attachment: Attachment }).attachment);
            if (xhr.status === 413)
              return reject(
                new UploadRefused(t('errors.tooLarge', { name: file.name, max: formatSize(MAX_UPLOAD_BYTES) })),
              );
            if (xhr.status === 415) return reject(new UploadRefused(t('errors.refused', { name: file.name })));
            reject(new UploadRefused(t('errors.failed', { name: file.name })));
          };
          xhr.onerror = () => reject(new UploadRefused(t('errors.failed', { name: file.name })));
          xhr.onabort = () => reject(new UploadRefused('cancelled'));
          xhr.send(file);
        }),
    );
}

/** The files being attached to the next message of one conversation. */
export function useUploads(conversationId: string) {
  const { t } = useTranslation('files');
  const [items, setItems] = useState<UploadItem[]>([]);
  const update = useCallback(
    (key: string, change: Partial<UploadItem>) =>
      setItems((all) => all.map((i) => (i.key === key ? { ...i, ...change } : i))),
    [],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: conversationId: another conversation starts with no files attached
  useEffect(() => () => setItems([]), [conversationId]);

  const upload = useCallback(
    (file: File): Promise<Attachment | null> => {
      const key = crypto.randomUUID();
      let xhr: XMLHttpRequest | null = null;
      const item: UploadItem = {
        key,
        name: file.name || t('unnamed'),
        size: file.size,
        progress: 0,
        status: 'uploading',
        ...(file.type.startsWith('image/') ? { preview: URL.createObjectURL(file) } : {}),
        cancel: () => {
          xhr?.abort();
          setItems((all) => all.filter((i) => i.key !== key));
        },
      };
      setItems((all) => [...all, item]);
      return uploadFile(
        file,
        conversationId,
        (progress) => update(key, { progress }),
        (x) => (xhr = x),
        t,
      ).then(
        (attachment) => {
          update(key, { status: 'done', progress: 1, attachment });
          return attachment;
        },
        (err: Error) => {
          if (err.message !== 'cancelled') update(key, { status: 'error', error: err.message });
          return null;
        },
      );
    },
    [conversationId, t, update],
  );

  const add = useCallback(
    (files: File[]) => {
      const room = MAX_FILES - items.filter((i) => i.status !== 'error').length;
      for (const f of files.slice(0, Math.max(0, room))) void upload(f);
      if (files.length > room) {
        const key = crypto.randomUUID();
        setItems((all) => [
          ...all,
          {
            key,
            name: '',
            size: 0,
            progress: 0,
            status: 'error',
            error: t('errors.tooMany', { max: MAX_FILES }),
            cancel: () => setItems((a) => a.filter((i) => i.key !== key)),
          },
        ]);
      }
    },
    [items, upload, t],
  );

  const ready = items.filter((i) => i.status === 'done' && i.attachment).map((i) => i.attachment!);
  const busy = items.some((i) => i.status === 'uploading');
  const clear = () => {
    for (const i of items) if (i.preview) URL.revokeObjectURL(i.preview);
    setItems([]);
  };
  return { items, add, upload, ready, busy, clear };
}

export function UploadTray({ items }: { items: UploadItem[] }) {
  const { t } = useTranslation('files');
  if (items.length === 0) return null;
  return (
    <ul className="upload-tray" aria-label={t('tray')}>
      {items.map((i) => (
        <li key={i.key} className={`upload-item ${i.status}`}>
          {i.preview ? <img src={i.preview} alt="" className="upload-preview" /> : <FileIcon className="upload-icon" />}
          <span className="upload-name">{i.name}</span>
          {i.status === 'uploading' && (
            <progress max={1} value={i.progress} aria-label={t('progress', { name: i.name })} />
          )}
          {i.status === 'done' && <span className="upload-size">{formatSize(i.attachment?.size ?? i.size)}</span>}
          {i.status === 'error' && (
            <span className="upload-error" role="alert">
              {i.error}
            </span>
          )}
          <button
            type="button"
            className="ghost small"
            onClick={i.cancel}
            aria-label={t(i.status === 'uploading' ? 'cancel' : 'remove', { name: i.name })}
          >
            ✕
          </button>
        </li>
      ))}
    </ul>
  );
}

export function AttachButton({ onFiles }: { onFiles: (files: File[]) => void }) {
  const { t } = useTranslation('files');
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        className="ghost attach"
        aria-label={t('attach')}
        title={t('attach')}
        onClick={() => input.current?.click()}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path
            fill="currentColor"
            d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"
          />
        </svg>
      </button>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="attach-input"
        onChange={(e) => {
          onFiles([...(e.target.files ?? [])]);
          e.target.value = '';
        }}
      />
    </>
  );
}

/** Record, then cancel or send; the recording becomes an audio file sent as its own message. */
export function VoiceRecorder({ onRecorded }: { onRecorded: (file: File) => void }) {
  const { t } = useTranslation('files');
  const [state, setState] = useState<{ recorder: MediaRecorder; started: number } | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const keep = useRef(true);
  useEffect(() => {
    if (!state) return;
    const timer = setInterval(() => setElapsed(Date.now() - state.started), 250);
    return () => clearInterval(timer);
  }, [state]);

  const start = async () => {
    setError(null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'].find((m) =>
        MediaRecorder.isTypeSupported(m),
      );
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      const chunks: Blob[] = [];
      recorder.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
      recorder.onstop = () => {
        for (const tr of stream.getTracks()) tr.stop();
        if (!keep.current || chunks.length === 0) return;
        const mime = (recorder.mimeType || 'audio/webm').split(';')[0]!;
        const ext = mime.includes('ogg') ? 'ogg' : mime.includes('mp4') ? 'm4a' : 'webm';
        onRecorded(
          new File(
            chunks,
            `${t('voice.fileName')}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.${ext}`,
            { type: mime },
          ),
        );
      };
      recorder.start(250);
      setElapsed(0);
      setState({ recorder, started: Date.now() });
    } catch {
      setError(t('voice.noMicrophone'));
    }
  };
  const stop = (send: boolean) => {
    keep.current = send;
    state?.recorder.stop();
    setState(null);
  };

  if (!state) {
    return (
      <>
        <button
          type="button"
          className="ghost voice"
          aria-label={t('voice.record')}
          title={t('voice.record')}
          onClick={() => void start()}
        >
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path
              fill="currentColor"
              d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z"
            />
          </svg>
        </button>
        {error && (
          <span className="field-error voice-error" role="alert">
            {error}
          </span>
        )}
      </>
    );
  }
  const seconds = Math.floor(elapsed / 1000);
  return (
    <div className="voice-recording" role="group" aria-label={t('voice.recording')}>
      <span className="rec-dot" aria-hidden="true" />
      <span aria-live="off">{`${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`}</span>
      <button type="button" className="ghost small" onClick={() => stop(false)}>
        {t('voice.cancel')}
      </button>
      <button type="button" className="primary small" onClick={() => stop(true)}>
        {t('voice.send')}
      </button>
    </div>
  );
}

/** What a message shows of its files. */
export function MessageAttachments({ items }: { items: Attachment[] }) {
  const { t } = useTranslation('files');
  const [open, setOpen] = useState<number | null>(null);
  const opener = useRef<HTMLElement | null>(null);
  const images = items.filter((a) => a.kind === 'image');
  const others = items.filter((a) => a.kind !== 'image');
  return (
    <div className="message-files">
      {images.length > 0 && (
        <div className={`image-grid n${Math.min(images.length, 4)}`}>
          {images.map((a, i) => (
            <button
              key={a.id}
              type="button"
              className="image-thumb"
              aria-label={t('image.open', { name: a.name })}
              onClick={(e) => {
                opener.current = e.currentTarget;
                setOpen(i);
              }}
            >
              <img
                src={a.thumbnailUrl ?? a.url}
                alt={a.name}
                width={a.width ?? undefined}
                height={a.height ?? undefined}
                loading="lazy"
              />
            </button>
          ))}
        </div>
      )}
      {others.map((a) =>
        a.kind === 'video' ? (
          // biome-ignore lint/a11y/useMediaCaption: a file someone sent; it comes with no captions
          <video key={a.id} className="file-video" src={a.url} controls preload="metadata" aria-label={a.name} />
        ) : a.kind === 'audio' ? (
          <div key={a.id} className="file-audio">
            {/* biome-ignore lint/a11y/useMediaCaption: a file someone sent; it comes with no captions */}
            <audio src={a.url} controls preload="metadata" aria-label={t('audio.label', { name: a.name })} />
          </div>
        ) : (
          <a key={a.id} className="file-card" href={a.url} download={a.name}>
            <FileIcon className="file-icon" />
            <span className="file-meta">
              <span className="file-name">{a.name}</span>
              <span className="file-detail">{`${formatSize(a.size)} · ${a.contentType}`}</span>
            </span>
          </a>
        ),
      )}
      {open !== null && (
        <Lightbox
          images={images}
          index={open}
          onIndex={setOpen}
          onClose={() => {
            setOpen(null);
            opener.current?.focus();
          }}
        />
      )}
    </div>
  );
}

function Lightbox({
  images,
  index,
  onIndex,
  onClose,
}: {
  images: Attachment[];
  index: number;
  onIndex: (i: number) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation('files');
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => close.current?.focus(), []);
  const a = images[index]!;
  const go = (d: number) => onIndex((index + d + images.length) % images.length);
  const onKeyDown = (e: ReactKeyboardEvent) => {
    if (e.key === 'Escape') onClose();
    else if (e.key === 'ArrowRight' && images.length > 1) go(1);
    else if (e.key === 'ArrowLeft' && images.length > 1) go(-1);
    else return;
    e.preventDefault();
    e.stopPropagation();
  };
  return (
    <div
      className="lightbox"
      role="dialog"
      aria-modal="true"
      aria-label={t('lightbox.label', { name: a.name, n: index + 1, total: images.length })}
      onKeyDown={onKeyDown}
    >
      <div className="lightbox-bar">
        <span className="lightbox-title">
          {t('lightbox.position', { n: index + 1, total: images.length, name: a.name })}
        </span>
        <a className="button ghost" href={a.url} download={a.name}>
          {t('lightbox.download')}
        </a>
        <button ref={close} type="button" className="ghost" onClick={onClose}>
          {t('lightbox.close')}
        </button>
      </div>
      <img className="lightbox-image" src={a.url} alt={a.name} />
      {images.length > 1 && (
        <>
          <button
            type="button"
            className="lightbox-nav prev"
            onClick={() => go(-1)}
            aria-label={t('lightbox.previous')}
          >
            ‹
          </button>
          <button type="button" className="lightbox-nav next" onClick={() => go(1)} aria-label={t('lightbox.next')}>
            ›
          </button>
        </>
      )}
    </div>
  );
}
