() => {
  // Clicking a citation [n] brings its passage into view in the sources panel. The click also
  // selects the message, which loads that answer's sources, so an older answer's card may
  // appear a moment later: look for it a few times.
  const reveal = (id, tries) => {
    const card = document.getElementById(id);
    if (!card) {
      if (tries > 0) setTimeout(() => reveal(id, tries - 1), 150);
      return;
    }
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    card.classList.add("qa-flash");
    setTimeout(() => card.classList.remove("qa-flash"), 1500);
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest(".qa-cite");
    if (!link) return;
    event.preventDefault();
    reveal((link.getAttribute("href") || "").slice(1), 15);
  });
}
