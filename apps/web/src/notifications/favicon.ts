/**
 * The unread count drawn on the favicon (a red disc with the number), and the plain icons back
 * at zero. The original <link rel="icon"> elements keep their hrefs in a data attribute.
 */
const SIZE = 64;
let base: Promise<HTMLImageElement | null> | null = null;

function loadBase(): Promise<HTMLImageElement | null> {
  base ??= new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => resolve(null);
    img.src = '/icons/icon-192.png';
  });
  return base;
}

function iconLinks(): HTMLLinkElement[] {
  return [...document.querySelectorAll<HTMLLinkElement>('link[rel="icon"]')];
}

let drawn = 0;

export async function setFaviconBadge(count: number) {
  drawn = count;
  const links = iconLinks();
  for (const link of links) {
    link.dataset.plainHref ??= link.getAttribute('href') ?? '';
    link.dataset.plainType ??= link.type;
  }
  if (count <= 0) {
    for (const link of links) {
      link.href = link.dataset.plainHref ?? link.href;
      link.type = link.dataset.plainType ?? '';
    }
    document.documentElement.dataset.unreadBadge = '0';
    return;
  }
  const img = await loadBase();
  if (drawn !== count) return; // a newer count was drawn meanwhile
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = SIZE;
  const g = canvas.getContext('2d');
  if (!g) return;
  if (img) g.drawImage(img, 0, 0, SIZE, SIZE);
  const label = count > 99 ? '99+' : String(count);
  const r = label.length > 2 ? 22 : 19;
  g.fillStyle = '#e5484d';
  g.beginPath();
  g.arc(SIZE - r, r, r, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = '#fff';
  g.font = `bold ${label.length > 2 ? 20 : label.length > 1 ? 26 : 30}px system-ui, sans-serif`;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(label, SIZE - r, r + 1);
  const url = canvas.toDataURL('image/png');
  for (const link of links) {
    link.type = 'image/png';
    link.href = url;
  }
  // For tests and assistive tooling: what the badge says.
  document.documentElement.dataset.unreadBadge = label;
}
