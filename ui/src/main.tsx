import { render } from 'preact';
import { App } from './app';
import { api } from './ipc/api';
import './styles.css';

const root = document.getElementById('app');
if (root) render(<App api={api} />, root);
