// The header's connection indicator: text and a data- attribute that CSS colours.

const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline, retrying",
  closed: "Finished",
};

/** `LiveStream`'s `onStatus` for the indicator `element`. */
export function connectionIndicator(element) {
  const text = element.querySelector(".connection-text");
  return (status) => {
    element.dataset.connection = status;
    text.textContent = STATUS_TEXT[status];
  };
}
