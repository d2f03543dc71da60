import { render } from 'preact';
import { App } from './app';
import { api } from './ipc/api';
// The Japanese face is bundled (no system font is assumed, the CSP allows no remote font).
// Only the two weights the stylesheet uses; each is split into unicode-range subsets, so the
// webview loads just the parts a screen needs.
import '@fontsource/biz-udpgothic/400.css';
import '@fontsource/biz-udpgothic/700.css';
import './styles.css';

const root = document.getElementById('app');
if (root) render(<App api={api} />, root);
