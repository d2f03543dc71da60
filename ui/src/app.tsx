import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api, AppInfo, SyncStatus, UiError, VisitRow } from './ipc/api';
import { LangContext, type Lang } from './i18n';
import { ErrorBox, Busy } from './components/common';
import { Today, type VisitAction } from './screens/Today';
import { Chart } from './screens/Chart';
import { FirstVisit } from './screens/FirstVisit';
import { NoteEditor } from './screens/NoteEditor';
import { BackOffice } from './screens/BackOffice';
import { Settings } from './screens/Settings';
import { Lock } from './screens/Lock';
import { Enroll } from './screens/Enroll';
import { SyncIndicator } from './components/SyncIndicator';

type Route =
  | { name: 'today' }
  | { name: 'chart'; patientId: string; visit?: VisitRow }
  | { name: 'card'; visit: VisitRow }
  | { name: 'note'; visit: VisitRow }
  | { name: 'backoffice' }
  | { name: 'settings' };

/** How often the header asks for the sync status (a local read; never waits on the network). */
export const SYNC_POLL_MS = 3000;

/** Idle time before the screen locks when the policy has not said (`autoLockMinutes`). */
export const AUTO_LOCK_MS = 5 * 60 * 1000;

export function App({ api }: { api: Api }) {
  const [lang, setLang] = useState<Lang>('ja');
  const [large, setLarge] = useState(false);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [route, setRoute] = useState<Route>({ name: 'today' });
  const [locked, setLocked] = useState(false);
  const [online, setOnline] = useState(typeof navigator === 'undefined' ? true : navigator.onLine);
  const [sync, setSync] = useState<SyncStatus | null>(null);
  // The saved language and text size apply once, at start-up: later reloads of app info
  // must not undo a toggle whose save is still on its way.
  const prefsApplied = useRef(false);

  const loadInfo = () =>
    api
      .appInfo()
      .then((i) => {
        setInfo(i);
        setError(null);
        setLocked(i.locked);
        if (!prefsApplied.current) {
          prefsApplied.current = true;
          setLang(i.uiLanguage);
          setLarge(i.largeText);
        }
      })
      .catch((e: UiError) => (e.code === 'not_enrolled' ? setInfo(null) : setError(e)));

  // The sync indicator (and the enrollment screen) follow the device's sync status.
  useEffect(() => {
    let alive = true;
    let wasEnrolling = false;
    let lastSync: string | null = null;
    const poll = () =>
      api
        .syncStatus()
        .then((s) => {
          if (!alive) return;
          setSync(s);
          // A sync may have brought the clinic document (its name for the header).
          if (s.lastSyncAt && s.lastSyncAt !== lastSync && !s.needsEnrollment) {
            lastSync = s.lastSyncAt;
            void loadInfo();
          }
          // Enrolled from elsewhere (managed code) or wiped: reload what the app shows.
          if (wasEnrolling !== s.needsEnrollment) {
            wasEnrolling = s.needsEnrollment;
            // Wiped: the header forgets the clinic (loadInfo gets `not_enrolled`).
            void loadInfo();
          }
        })
        .catch(() => undefined);
    void poll();
    const timer = setInterval(poll, SYNC_POLL_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, []);

  useEffect(() => {
    void loadInfo();
    const on = () => setOnline(true);
    const off = () => setOnline(false);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, []);

  // Auto-lock after a period without touches or keys (managed setting autoLockMinutes).
  const lockMs = info ? info.autoLockMinutes * 60 * 1000 : AUTO_LOCK_MS;
  useEffect(() => {
    let timer = setTimeout(lockNow, lockMs);
    function lockNow() {
      void api.lock().then(() => setLocked(true));
    }
    const reset = () => {
      clearTimeout(timer);
      timer = setTimeout(lockNow, lockMs);
    };
    window.addEventListener('pointerdown', reset);
    window.addEventListener('keydown', reset);
    return () => {
      clearTimeout(timer);
      window.removeEventListener('pointerdown', reset);
      window.removeEventListener('keydown', reset);
    };
  }, [lockMs]);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.documentElement.classList.toggle('large', large);
  }, [lang, large]);

  const tr = (ja: string, en: string) => (lang === 'ja' ? ja : en);
  // Applied at once, then kept as the user's settings for the next start. Before enrollment
  // there is nothing to save into (the choice lasts until the app closes); other refusals
  // (e.g. the administrator fixed the language) are shown.
  const savePref = (key: 'uiLanguage' | 'largeText', value: string) => {
    prefsApplied.current = true;
    api.setUserSetting(key, value).catch((e: UiError) => {
      // Locked: the toggle changes the view only; it is saved once someone signs in.
      if (e.code !== 'not_enrolled' && e.code !== 'locked') setError(e);
    });
  };
  const toggleLang = () => {
    const next: Lang = lang === 'ja' ? 'en' : 'ja';
    setLang(next);
    savePref('uiLanguage', next);
  };
  const toggleLarge = () => {
    setLarge(!large);
    savePref('largeText', String(!large));
  };
  const onAction = (a: VisitAction) => {
    if (a.kind === 'chart') setRoute({ name: 'chart', patientId: a.visit.patientId, visit: a.visit });
    else if (a.kind === 'card') setRoute({ name: 'card', visit: a.visit });
    else setRoute({ name: 'note', visit: a.visit });
  };

  const status: SyncStatus = sync ?? info?.sync ?? {
    state: 'training',
    pending: 0,
    lastSyncAt: null,
    labelJa: '訓練モード',
    labelEn: 'Training mode',
    nextJa: '',
    nextEn: '',
    needsEnrollment: false,
    managedCode: false,
  };
  const enrolling = status.needsEnrollment;

  return (
    <LangContext.Provider value={lang}>
      {/* The back office fills the window exactly; its tabs scroll inside (see styles.css). */}
      <div class={route.name === 'backoffice' && !locked && !enrolling && info ? 'app fill' : 'app'}>
        {info?.trainingMode && (
          <div class="training" data-testid="training-banner">
            {tr('訓練モード ― 合成データです。実在の患者ではありません', 'TRAINING MODE — synthetic data, not real patients')}
          </div>
        )}
        <header class="top">
          <div class="brand">
            <strong>訪問 Houmon</strong>
            <small data-testid="whoami">
              {[info?.clinicName, info?.staffName, info?.today].filter((x) => !!x).join(' · ')}
            </small>
          </div>
          <SyncIndicator status={status} online={online} />
          <div class="top-actions">
            <button class="btn small" onClick={toggleLang} data-testid="lang">
              {lang === 'ja' ? 'English' : '日本語'}
            </button>
            <button class={large ? 'btn small on' : 'btn small'} onClick={toggleLarge} data-testid="large-text">
              {tr('文字 大', 'Large text')}
            </button>
            <button
              class="btn small"
              onClick={() => void api.lock().then(() => setLocked(true))}
              data-testid="lock-now"
            >
              {tr('ロック', 'Lock')}
            </button>
          </div>
        </header>
        {info?.keyWarningJa && (
          <div class="keywarn">{lang === 'ja' ? info.keyWarningJa : info.keyWarningEn}</div>
        )}
        <nav class="nav">
          <button class={route.name === 'today' ? 'tab on' : 'tab'} onClick={() => setRoute({ name: 'today' })} data-testid="nav-today">
            {tr('今日の訪問', 'Today')}
          </button>
          <button class={route.name === 'backoffice' ? 'tab on' : 'tab'} onClick={() => setRoute({ name: 'backoffice' })} data-testid="nav-backoffice">
            {tr('バックオフィス', 'Back office')}
          </button>
          <button class={route.name === 'settings' ? 'tab on' : 'tab'} onClick={() => setRoute({ name: 'settings' })} data-testid="nav-settings">
            {tr('設定', 'Settings')}
          </button>
        </nav>
        <main class="main">
          <ErrorBox error={error} />
          {enrolling ? (
            <Enroll
              api={api}
              status={status}
              onEnrolled={(s) => {
                setSync(s);
                void loadInfo();
              }}
            />
          ) : locked ? (
            <Lock
              api={api}
              training={info?.trainingMode ?? false}
              canFoundAdmin={info?.canFoundAdmin ?? false}
              needsClinicSetup={info?.needsClinicSetup ?? false}
              onClinicSetUp={() => void loadInfo()}
              onUnlocked={() => {
                // Possibly another person signed in: their name, role and visits.
                void loadInfo();
                setRoute({ name: 'today' });
                setLocked(false);
              }}
            />
          ) : !info && !error ? (
            <Busy />
          ) : (
            <>
              {route.name === 'today' && <Today api={api} onAction={onAction} syncedAt={status.lastSyncAt} />}
              {route.name === 'chart' && (
                <Chart
                  api={api}
                  patientId={route.patientId}
                  visitId={route.visit?.visitId}
                  kind={route.visit?.kind}
                  today={info?.today ?? ''}
                  syncedAt={status.lastSyncAt}
                  onCard={route.visit ? () => route.visit && setRoute({ name: 'card', visit: route.visit }) : undefined}
                />
              )}
              {route.name === 'card' && (
                <FirstVisit
                  api={api}
                  patientId={route.visit.patientId}
                  visitId={route.visit.visitId}
                  patientName={route.visit.patientName}
                  urgent={route.visit.kind === 'urgentCall'}
                  allowVisual={info?.allowVisualCheck ?? false}
                  allowUnverifiedVisual={info?.allowUnverifiedVisualCheck ?? false}
                  allowPin={info?.allowPinCheck ?? true}
                  onDone={() => setRoute({ name: 'today' })}
                />
              )}
              {route.name === 'note' && (
                <NoteEditor
                  api={api}
                  patientId={route.visit.patientId}
                  visitId={route.visit.visitId}
                  patientName={route.visit.patientName}
                  onClose={() => setRoute({ name: 'today' })}
                />
              )}
              {route.name === 'backoffice' && (
                <BackOffice api={api} staffRole={info?.staffRole} onOpenPatient={(id) => setRoute({ name: 'chart', patientId: id })} />
              )}
              {route.name === 'settings' && <Settings api={api} training={info?.trainingMode ?? false} />}
            </>
          )}
        </main>
      </div>
    </LangContext.Provider>
  );
}
