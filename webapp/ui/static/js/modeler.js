// The case-type modeler: bpmn-js for the process, dmn-js for decision tables, a JSON editor with a
// live preview for forms, and a properties panel of our own for what Sagsgang reads. Saving sends
// every changed file to the server, which answers with the linter's findings; they are listed and
// marked on the diagram. No inline scripts (the Content-Security-Policy forbids them): everything
// the page knows comes in data- attributes of #modeler.
(function () {
  "use strict";

  var SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  // The SpiffWorkflow extension elements Sagsgang reads, so bpmn-js can create and edit them.
  var SPIFF = {
    name: "SpiffWorkflow", uri: SPIFF_NS, prefix: "spiffworkflow", xml: { tagAlias: "lowerCase" },
    types: [
      { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: [
        { name: "name", type: "String", isAttr: true }, { name: "value", type: "String", isAttr: true }] },
      { name: "InstructionsForEndUser", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
      { name: "CalledDecisionId", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
      { name: "PreScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
      { name: "PostScript", superClass: ["Element"], properties: [{ name: "value", type: "String", isBody: true }] },
      { name: "ProcessVariableCorrelation", superClass: ["Element"], properties: [
        { name: "propertyId", type: "String" }, { name: "expression", type: "String" }] }
    ]
  };

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function json(element, name, fallback) {
    try { return JSON.parse(element.dataset[name] || ""); } catch (e) { return fallback; }
  }
  function text(tag, content, attrs) {
    var node = document.createElement(tag);
    if (content !== undefined && content !== null) { node.textContent = content; }
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    return node;
  }
  function t(root, key, fallback) {
    // Translated labels come from the template (data-t-*), so the panel speaks the user's language.
    return root.dataset["t" + key.charAt(0).toUpperCase() + key.slice(1)] || fallback;
  }
  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function request(root, url, options) {
    options = options || {};
    var headers = { "Accept": "application/json", "X-CSRFToken": root.dataset.csrf };
    if (options.body && typeof options.body !== "string") {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.body);
    }
    options.headers = Object.assign(headers, options.headers || {});
    options.credentials = "same-origin";
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var body = type.indexOf("json") >= 0 ? response.json() : response.text();
      return body.then(function (data) {
        if (!response.ok) {
          var error = new Error((data && data.detail) || ("HTTP " + response.status));
          error.problem = data;
          throw error;
        }
        return data;
      });
    });
  }

  // ------------------------------------------------------------------------- extension elements

  function extensions(bo) { return (bo.extensionElements && bo.extensionElements.values) || []; }
  function extension(bo, type) { return extensions(bo).filter(function (e) { return e.$type === type; })[0]; }

  function Editor(root) {
    this.root = root;
    this.editable = root.dataset.editable === "true";
    this.mainFile = root.dataset.mainFile;
    this.filesUrl = root.dataset.filesUrl;
    this.dirty = {};          // file name -> true when changed since the last save
    this.removed = [];
    this.forms = json(root, "formFiles", []);
    this.formTexts = {};
    this.dmnFiles = json(root, "dmnFiles", []);
    this.dmnEditors = {};
    this.lanes = json(root, "lanes", {});
    this.blocks = json(root, "buildingBlocks", []);
    this.decisions = json(root, "decisions", []);
    this.findings = [];
  }

  Editor.prototype.start = function () {
    var self = this;
    var canvas = $("#canvas", this.root);
    this.modeler = new window.BpmnJS({ container: canvas, moddleExtensions: { spiffworkflow: SPIFF } });
    window.sagsgangModeler = this.modeler;   // for the browser tests and the curious
    window.sagsgangEditor = this;
    if (!this.editable) { canvas.classList.add("read-only"); }
    this.bindToolbar();
    this.bindTabs();
    var eventBus = this.modeler.get("eventBus");
    eventBus.on("selection.changed", function (event) { self.showProperties(event.newSelection[0]); });
    eventBus.on("element.changed", function (event) {
      if (self.selected && event.element === self.selected) { self.showProperties(self.selected); }
    });
    eventBus.on("commandStack.changed", function () { self.markDirty(self.mainFile); });
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); self.save(); }
    });
    window.addEventListener("beforeunload", function (event) {
      if (self.editable && Object.keys(self.dirty).length) { event.preventDefault(); event.returnValue = ""; }
    });
    this.renderFindings(json(this.root, "lint", { findings: [] }));
    return this.load(this.mainFile).then(function (xml) {
      return self.modeler.importXML(xml);
    }).then(function () {
      self.modeler.get("canvas").zoom("fit-viewport", "auto");
      self.dirty = {};
      self.updateDirty();
      self.markFindings();
      self.root.classList.add("modeler-ready");
      self.showProperties(null);
    }).catch(function (error) { self.status(String(error), "error"); });
  };

  Editor.prototype.load = function (name) {
    return request(this.root, this.filesUrl + encodeURI(name), { headers: { "Accept": "*/*" } });
  };

  Editor.prototype.markDirty = function (name) {
    if (!this.editable) { return; }
    this.dirty[name] = true;
    this.updateDirty();
  };

  Editor.prototype.updateDirty = function () {
    var count = Object.keys(this.dirty).length;
    var note = $("#unsaved", this.root);
    if (note) { note.hidden = count === 0; }
  };

  Editor.prototype.status = function (message, kind) {
    var box = $("#modeler-status", this.root);
    box.textContent = message;
    box.className = "modeler-status " + (kind || "info");
  };

  // ------------------------------------------------------------------------------------ toolbar

  Editor.prototype.bindToolbar = function () {
    var self = this;
    var on = function (id, handler) { var b = $("#" + id, self.root); if (b) { b.addEventListener("click", handler); } };
    on("save-model", function () { self.save(); });
    on("check-model", function () { self.check(); });
    on("export-bpmn", function () { self.exportFile(self.mainFile, "bpmn"); });
    on("fit-model", function () { self.modeler.get("canvas").zoom("fit-viewport", "auto"); });
    var importer = $("#import-file", this.root);
    if (importer) {
      importer.addEventListener("change", function () {
        var file = importer.files[0];
        if (!file) { return; }
        file.text().then(function (content) { return self.importFile(file.name, content); })
          .catch(function (error) { self.status(String(error), "error"); });
        importer.value = "";
      });
    }
    var publish = $("#publish-form", this.root);
    if (publish) {
      publish.addEventListener("submit", function (event) {
        if (Object.keys(self.dirty).length) {
          event.preventDefault();
          self.save().then(function () { publish.submit(); });
        }
      });
    }
  };

  Editor.prototype.importFile = function (name, content) {
    var self = this;
    var lower = name.toLowerCase();
    if (lower.endsWith(".bpmn") || lower.endsWith(".xml")) {
      return this.modeler.importXML(content).then(function () {
        self.modeler.get("canvas").zoom("fit-viewport", "auto");
        self.markDirty(self.mainFile);
        self.status(t(self.root, "imported", "Imported; save to keep it.") + " " + name, "info");
      });
    }
    if (lower.endsWith(".dmn")) {
      var target = "decisions/" + name.replace(/[^A-Za-z0-9_.-]/g, "_");
      var existing = this.dmnFiles.filter(function (f) { return f.split("/").pop() === name; })[0];
      target = existing || target;
      if (this.dmnFiles.indexOf(target) < 0) { this.dmnFiles.push(target); }
      this.dmnPending = this.dmnPending || {};
      this.dmnPending[target] = content;
      this.markDirty(target);
      return this.save().then(function () { window.location.reload(); });
    }
    if (lower.endsWith(".json")) {
      var form = "forms/" + name.replace(/[^A-Za-z0-9_.-]/g, "_");
      this.formTexts[form] = content;
      if (this.forms.indexOf(form) < 0) { this.forms.push(form); }
      this.markDirty(form);
      return this.save().then(function () { window.location.reload(); });
    }
    throw new Error(t(this.root, "unknownFile", "Import a .bpmn, .dmn or .json file."));
  };

  Editor.prototype.exportFile = function (name, kind) {
    var self = this;
    var content = kind === "bpmn" ? this.modeler.saveXML({ format: true }).then(function (r) { return r.xml; })
      : Promise.resolve(this.formTexts[name]);
    content.then(function (body) {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([body], { type: "application/xml" }));
      link.download = name.split("/").pop();
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
    }).catch(function (error) { self.status(String(error), "error"); });
  };

  // ------------------------------------------------------------------------------- save, check

  Editor.prototype.collect = function () {
    var self = this;
    var files = {};
    var jobs = [];
    Object.keys(this.dirty).forEach(function (name) {
      if (name === self.mainFile) {
        jobs.push(self.modeler.saveXML({ format: true }).then(function (r) { files[name] = r.xml; }));
      } else if (self.dmnEditors[name]) {
        jobs.push(self.dmnEditors[name].saveXML({ format: true }).then(function (r) { files[name] = r.xml; }));
      } else if (self.dmnPending && self.dmnPending[name] !== undefined) {
        files[name] = self.dmnPending[name];
      } else if (self.formTexts[name] !== undefined) {
        files[name] = self.formTexts[name];
      }
    });
    return Promise.all(jobs).then(function () { return files; });
  };

  Editor.prototype.save = function () {
    var self = this;
    if (!this.editable) { return Promise.resolve(); }
    this.status(t(this.root, "saving", "Saving…"), "info");
    return this.collect().then(function (files) {
      var body = { files: files, removed: self.removed };
      var settings = $("#version-settings", self.root);
      if (settings) {
        body.process_id = $("#process-id", settings).value;
        body.start_form = $("#start-form", settings).value;
      }
      return request(self.root, self.root.dataset.saveUrl, { method: "POST", body: body });
    }).then(function (saved) {
      self.dirty = {};
      self.removed = [];
      self.dmnPending = {};
      self.updateDirty();
      self.renderFindings(saved.lint);
      self.status(t(self.root, "saved", "Saved.") + " " + self.summary(saved.lint), saved.lint.errors ? "error" : "ok");
      return saved;
    }).catch(function (error) {
      self.status(t(self.root, "notSaved", "Not saved:") + " " + error.message, "error");
      throw error;
    });
  };

  Editor.prototype.check = function () {
    var self = this;
    var run = Object.keys(this.dirty).length && this.editable ? this.save()
      : request(this.root, this.root.dataset.lintUrl).then(function (report) {
        self.renderFindings(report);
        self.status(self.summary(report), report.errors ? "error" : "ok");
      });
    return run;
  };

  Editor.prototype.summary = function (report) {
    return t(this.root, "summary", "{e} errors, {w} warnings ({u} not acknowledged).")
      .replace("{e}", report.errors).replace("{w}", report.warnings).replace("{u}", report.unacknowledged);
  };

  // --------------------------------------------------------------------------------- findings

  Editor.prototype.renderFindings = function (report) {
    var self = this;
    this.findings = report.findings || [];
    var list = $("#findings-list", this.root);
    list.textContent = "";
    $("#findings-count", this.root).textContent = this.findings.length ? this.summary(report) : t(this.root, "clean", "No findings: the model can be published.");
    this.findings.forEach(function (finding) {
      var item = text("li", null, { "class": "finding finding-" + finding.severity, "data-rule": finding.rule,
                                    "data-element": finding.element || "" });
      item.appendChild(text("span", finding.severity === "error" ? t(self.root, "error", "Error") : t(self.root, "warning", "Warning"),
                            { "class": "severity" }));
      item.appendChild(text("span", " " + (finding.display || finding.message) + " ", { "class": "message" }));
      var where = text("span", null, { "class": "where" });
      if (finding.element) {
        var go = text("button", finding.element, { type: "button", "class": "element-link" });
        go.addEventListener("click", function () { self.reveal(finding); });
        where.appendChild(go);
      }
      if (finding.file) { where.appendChild(text("span", " · " + finding.file, { "class": "file" })); }
      where.appendChild(text("span", " · " + finding.rule, { "class": "rule" }));
      item.appendChild(where);
      if (finding.severity === "warning") {
        if (finding.acknowledged) {
          item.appendChild(text("span", " ✓ " + t(self.root, "acknowledgedBy", "acknowledged by") + " " + finding.acknowledged_by,
                                { "class": "acknowledged" }));
        } else if (self.editable) {
          var ack = text("button", t(self.root, "acknowledge", "Acknowledge"), { type: "button", "class": "button secondary small" });
          ack.addEventListener("click", function () { self.acknowledge(finding.key); });
          item.appendChild(ack);
        }
      }
      list.appendChild(item);
    });
    this.markFindings();
  };

  Editor.prototype.markFindings = function () {
    if (!this.modeler) { return; }
    var canvas = this.modeler.get("canvas");
    var registry = this.modeler.get("elementRegistry");
    var overlays = this.modeler.get("overlays");
    overlays.remove({ type: "lint" });
    registry.getAll().forEach(function (element) {
      canvas.removeMarker(element.id, "sg-lint-error");
      canvas.removeMarker(element.id, "sg-lint-warning");
    });
    var counts = {};
    this.findings.forEach(function (finding) {
      if (!finding.element || !registry.get(finding.element)) { return; }
      var entry = counts[finding.element] = counts[finding.element] || { error: 0, warning: 0, messages: [] };
      entry[finding.severity] += 1;
      entry.messages.push(finding.message);
    });
    Object.keys(counts).forEach(function (id) {
      var entry = counts[id];
      var severity = entry.error ? "error" : "warning";
      canvas.addMarker(id, "sg-lint-" + severity);
      var badge = text("span", String(entry.error + entry.warning),
                       { "class": "lint-badge lint-badge-" + severity, title: entry.messages.join("\n"),
                         "data-element": id });
      overlays.add(id, "lint", { position: { top: -8, right: 8 }, html: badge });
    });
  };

  Editor.prototype.reveal = function (finding) {
    var registry = this.modeler.get("elementRegistry");
    var element = finding.element && registry.get(finding.element);
    if (element) {
      this.switchTab("process");
      this.modeler.get("selection").select(element);
      this.modeler.get("canvas").scrollToElement(element);
    } else if (finding.file && this.forms.indexOf(finding.file) >= 0) {
      this.switchTab("forms");
      this.openForm(finding.file);
    } else if (finding.file && this.dmnFiles.indexOf(finding.file) >= 0) {
      this.switchTab("dmn:" + finding.file);
    }
  };

  Editor.prototype.acknowledge = function (key) {
    var self = this;
    return request(this.root, this.root.dataset.ackUrl, { method: "POST", body: { keys: [key] } })
      .then(function (report) { self.renderFindings(report); self.status(self.summary(report), "ok"); })
      .catch(function (error) { self.status(error.message, "error"); });
  };

  // ------------------------------------------------------------------------------------- tabs

  Editor.prototype.bindTabs = function () {
    var self = this;
    $all("[data-tab]", this.root).forEach(function (button) {
      button.addEventListener("click", function () { self.switchTab(button.dataset.tab); });
    });
    var newForm = $("#new-form", this.root);
    if (newForm) {
      newForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = $("#new-form-name", newForm).value.trim().replace(/[^A-Za-z0-9_.-]/g, "_");
        if (!name) { return; }
        if (!/\.json$/.test(name)) { name += ".json"; }
        var path = "forms/" + name;
        if (self.forms.indexOf(path) < 0) {
          self.forms.push(path);
          self.formTexts[path] = JSON.stringify({ type: "object", title: name.replace(/\.json$/, ""),
                                                  properties: {}, required: [] }, null, 2);
          self.markDirty(path);
          self.renderFormList();
        }
        self.openForm(path);
      });
    }
    this.renderFormList();
  };

  Editor.prototype.switchTab = function (name) {
    var self = this;
    $all("[data-tab]", this.root).forEach(function (button) {
      button.setAttribute("aria-selected", String(button.dataset.tab === name));
    });
    $all("[data-panel]", this.root).forEach(function (panel) { panel.hidden = panel.dataset.panel !== name; });
    if (name.indexOf("dmn:") === 0) { this.openDmn(name.slice(4)); }
    if (name === "forms" && !this.currentForm && this.forms.length) { this.openForm(this.forms[0]); }
    if (name === "process") { setTimeout(function () { self.modeler.get("canvas").resized(); }, 0); }
  };

  // ------------------------------------------------------------------------------ decision tables

  Editor.prototype.openDmn = function (name) {
    var self = this;
    if (this.dmnEditors[name] || !window.DmnJS) { return; }
    var container = $("[data-dmn='" + name + "']", this.root);
    var editor = new window.DmnJS({ container: container });
    this.dmnEditors[name] = editor;
    this.load(name).then(function (xml) { return editor.importXML(xml); }).then(function () {
      var table = editor.getViews().filter(function (view) { return view.type === "decisionTable"; })[0];
      if (table) { return editor.open(table); }
    }).then(function () {
      container.classList.add("dmn-ready");
      editor.on("views.changed", function () { self.watchDmn(name, editor); });
      self.watchDmn(name, editor);
    }).catch(function (error) { self.status(name + ": " + error, "error"); });
  };

  Editor.prototype.watchDmn = function (name, editor) {
    var self = this;
    var viewer = editor.getActiveViewer();
    if (viewer && !viewer.sagsgangWatched) {
      viewer.sagsgangWatched = true;
      viewer.get("eventBus").on("elements.changed", function () { self.markDirty(name); });
    }
  };

  // --------------------------------------------------------------------------------------- forms

  Editor.prototype.renderFormList = function () {
    var self = this;
    var list = $("#form-list", this.root);
    if (!list) { return; }
    list.textContent = "";
    this.forms.forEach(function (name) {
      var item = text("li");
      var button = text("button", name.replace(/^forms\//, ""), { type: "button", "class": "element-link",
                                                                  "data-form": name });
      button.addEventListener("click", function () { self.openForm(name); });
      item.appendChild(button);
      list.appendChild(item);
    });
  };

  Editor.prototype.openForm = function (name) {
    var self = this;
    this.currentForm = name;
    var area = $("#form-json", this.root);
    $("#form-name", this.root).textContent = name;
    $all("[data-form]", this.root).forEach(function (b) { b.setAttribute("aria-current", String(b.dataset.form === name)); });
    var loaded = this.formTexts[name] !== undefined ? Promise.resolve(this.formTexts[name])
      : this.load(name).then(function (body) {
        var content = typeof body === "string" ? body : JSON.stringify(body, null, 2);
        self.formTexts[name] = content;
        return content;
      });
    loaded.then(function (content) {
      area.value = content;
      area.readOnly = !self.editable || name.indexOf("shared/") === 0;
      self.preview();
    });
    if (!area.dataset.bound) {
      area.dataset.bound = "1";
      var timer = null;
      area.addEventListener("input", function () {
        self.formTexts[self.currentForm] = area.value;
        self.markDirty(self.currentForm);
        clearTimeout(timer);
        timer = setTimeout(function () { self.preview(); }, 400);
      });
    }
  };

  Editor.prototype.preview = function () {
    var area = $("#form-json", this.root);
    var target = $("#form-preview", this.root);
    var problem = $("#form-json-problem", this.root);
    try {
      JSON.parse(area.value);
      problem.textContent = "";
    } catch (error) {
      problem.textContent = error.message;
    }
    request(this.root, this.root.dataset.previewUrl, { method: "POST", body: area.value,
                                                       headers: { "Content-Type": "application/json", "Accept": "text/html" } })
      .then(function (html) { target.innerHTML = html; })
      .catch(function (error) { target.textContent = error.message; });
  };

  // ---------------------------------------------------------------------------- properties panel

  Editor.prototype.showProperties = function (element) {
    this.selected = element || null;
    var panel = $("#properties", this.root);
    panel.textContent = "";
    if (!element) {
      panel.appendChild(text("p", t(this.root, "selectHint", "Select an element to see and change what Sagsgang reads from it."),
                             { "class": "hint" }));
      return;
    }
    var bo = element.businessObject;
    var self = this;
    panel.appendChild(text("h2", bo.name || bo.id));
    panel.appendChild(text("p", bo.$type.replace("bpmn:", "") + " · " + bo.id, { "class": "hint element-id" }));
    var own = this.findings.filter(function (f) { return f.element === bo.id; });
    if (own.length) {
      var box = text("ul", null, { "class": "element-findings" });
      own.forEach(function (f) { box.appendChild(text("li", f.message, { "class": "finding-" + f.severity })); });
      panel.appendChild(box);
    }
    if (element.type === "label") { return; }
    this.field(panel, "name", t(this.root, "name", "Name"), bo.name || "", function (value) {
      self.modeling().updateLabel(element, value);
    });
    if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask")) { this.userTaskFields(panel, element); }
    if (is(bo, "bpmn:SequenceFlow")) { this.flowFields(panel, element); }
    if (is(bo, "bpmn:ExclusiveGateway") || is(bo, "bpmn:InclusiveGateway")) { this.gatewayFields(panel, element); }
    if (is(bo, "bpmn:ScriptTask")) {
      this.field(panel, "script", t(this.root, "script", "Script (Python, runs in the sandbox)"), bo.script || "", function (value) {
        self.modeling().updateProperties(element, { script: value, scriptFormat: "python" });
      }, "textarea");
    }
    if (is(bo, "bpmn:CallActivity")) { this.callFields(panel, element); }
    if (is(bo, "bpmn:BusinessRuleTask")) { this.decisionFields(panel, element); }
    var definition = (bo.eventDefinitions || [])[0];
    if (definition && is(definition, "bpmn:TimerEventDefinition")) { this.timerFields(panel, element, definition); }
    if ((definition && is(definition, "bpmn:MessageEventDefinition")) || is(bo, "bpmn:ReceiveTask")) {
      this.messageFields(panel, element, definition || bo);
    }
    if (is(bo, "bpmn:Lane")) { this.laneInfo(panel, bo.name); }
    if (is(bo, "bpmn:Participant") || is(bo, "bpmn:Process")) {
      var process = bo.processRef || bo;
      panel.appendChild(text("p", t(this.root, "processId", "Process id") + ": " + process.id, { "class": "hint" }));
    }
  };

  Editor.prototype.modeling = function () { return this.modeler.get("modeling"); };
  Editor.prototype.moddle = function () { return this.modeler.get("moddle"); };

  Editor.prototype.field = function (panel, name, label, value, onChange, kind, options) {
    var id = "prop-" + name;
    var wrap = text("div", null, { "class": "field" });
    wrap.appendChild(text("label", label, { "for": id }));
    var input;
    if (kind === "select") {
      input = text("select", null, { id: id, name: name });
      (options || []).forEach(function (option) {
        var node = text("option", option[1], { value: option[0] });
        if (option[0] === value) { node.selected = true; }
        input.appendChild(node);
      });
    } else if (kind === "textarea") {
      input = text("textarea", null, { id: id, name: name, rows: "5", spellcheck: "false" });
      input.value = value;
    } else if (kind === "checkbox") {
      input = text("input", null, { id: id, name: name, type: "checkbox" });
      input.checked = !!value;
      wrap.className = "field checkbox";
    } else {
      input = text("input", null, { id: id, name: name, type: "text" });
      input.value = value;
    }
    input.disabled = !this.editable;
    input.addEventListener("change", function () { onChange(kind === "checkbox" ? input.checked : input.value); });
    wrap.appendChild(input);
    panel.appendChild(wrap);
    return input;
  };

  Editor.prototype.setExtension = function (element, owner, type, build) {
    // Replace (or remove, when build returns null) the one extension element of `type` on `owner`.
    var moddle = this.moddle();
    var holder = owner.extensionElements || moddle.create("bpmn:ExtensionElements", { values: [] });
    var values = (holder.values || []).filter(function (e) { return e.$type !== type; });
    var created = build(moddle);
    if (created) { created.$parent = holder; values.push(created); }
    holder.values = values;
    this.modeling().updateModdleProperties(element, owner, { extensionElements: holder });
  };

  Editor.prototype.property = function (bo, name) {
    var props = extension(bo, "spiffworkflow:Properties");
    var found = props && (props.properties || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value : "";
  };

  Editor.prototype.setProperty = function (element, name, value) {
    var bo = element.businessObject;
    var current = extension(bo, "spiffworkflow:Properties");
    var kept = ((current && current.properties) || []).filter(function (p) { return p.name !== name; })
      .map(function (p) { return { name: p.name, value: p.value }; });
    if (value) { kept.push({ name: name, value: value }); }
    this.setExtension(element, bo, "spiffworkflow:Properties", function (moddle) {
      if (!kept.length) { return null; }
      return moddle.create("spiffworkflow:Properties", {
        properties: kept.map(function (p) { return moddle.create("spiffworkflow:Property", p); }) });
    });
  };

  Editor.prototype.userTaskFields = function (panel, element) {
    var self = this;
    var bo = element.businessObject;
    var forms = [["", t(this.root, "noForm", "(no form)")]].concat(this.forms.map(function (f) {
      var base = f.split("/").pop();
      return [base, base];
    }));
    this.field(panel, "form", t(this.root, "form", "Form"), this.property(bo, "formJsonSchemaFilename"), function (value) {
      self.setProperty(element, "formJsonSchemaFilename", value);
    }, "select", forms);
    this.field(panel, "dueIn", t(this.root, "dueIn", "Due in (P7D = 7 days, or an expression)"), this.property(bo, "dueIn"),
               function (value) { self.setProperty(element, "dueIn", value.trim()); });
    var instructions = extension(bo, "spiffworkflow:InstructionsForEndUser");
    this.field(panel, "instructions", t(this.root, "instructions", "Instructions (Markdown; a field name in double curly braces shows its value)"),
               instructions ? instructions.value || "" : "", function (value) {
      self.setExtension(element, bo, "spiffworkflow:InstructionsForEndUser", function (moddle) {
        return value ? moddle.create("spiffworkflow:InstructionsForEndUser", { value: value }) : null;
      });
    }, "textarea");
    var lane = this.laneOf(element);
    this.laneInfo(panel, lane);
  };

  Editor.prototype.laneOf = function (element) {
    var registry = this.modeler.get("elementRegistry");
    var lanes = registry.filter(function (e) { return e.type === "bpmn:Lane"; });
    var found = null;
    lanes.forEach(function (lane) {
      var refs = lane.businessObject.flowNodeRef || [];
      if (refs.indexOf(element.businessObject) >= 0) { found = lane.businessObject.name; }
    });
    return found;
  };

  Editor.prototype.laneInfo = function (panel, lane) {
    var message;
    if (!lane) {
      message = t(this.root, "noLane", "In no lane: the case's caseworker gets it.");
    } else if (this.lanes[lane]) {
      var rule = this.lanes[lane];
      message = t(this.root, "laneMapped", "Lane {lane} goes to").replace("{lane}", lane) + " " +
        [rule.group ? t(this.root, "group", "group") + " " + rule.group : "",
         rule.expression ? t(this.root, "expression", "expression") + " " + rule.expression : ""].filter(Boolean).join(", ");
    } else {
      message = t(this.root, "laneUnmapped", "Lane {lane} is not mapped: map it on the case type's page.").replace("{lane}", lane);
    }
    panel.appendChild(text("p", message, { "class": "lane-info" + (lane && !this.lanes[lane] ? " problem" : "") }));
  };

  Editor.prototype.flowFields = function (panel, element) {
    var self = this;
    var bo = element.businessObject;
    var source = bo.sourceRef;
    if (!(is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway"))) { return; }
    var isDefault = source.default === bo;
    this.field(panel, "default", t(this.root, "defaultFlow", "Default flow (taken when no condition holds)"), isDefault, function (checked) {
      var gateway = self.modeler.get("elementRegistry").get(source.id);
      self.modeling().updateProperties(gateway, { "default": checked ? bo : undefined });
    }, "checkbox");
    var condition = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
    this.field(panel, "condition", t(this.root, "condition", "Condition (Python, e.g. approved == True)"), condition, function (value) {
      var expression = value.trim() ? self.moddle().create("bpmn:FormalExpression", { body: value.trim() }) : undefined;
      self.modeling().updateProperties(element, { conditionExpression: expression });
    }, "textarea");
  };

  Editor.prototype.gatewayFields = function (panel, element) {
    var self = this;
    var bo = element.businessObject;
    var options = [["", t(this.root, "noDefault", "(no default flow)")]].concat((bo.outgoing || []).map(function (flow) {
      return [flow.id, (flow.name || flow.id) + " → " + ((flow.targetRef && (flow.targetRef.name || flow.targetRef.id)) || "")];
    }));
    this.field(panel, "defaultFlow", t(this.root, "defaultFlowOf", "Default flow"), bo.default ? bo.default.id : "", function (value) {
      var flow = (bo.outgoing || []).filter(function (f) { return f.id === value; })[0];
      self.modeling().updateProperties(element, { "default": flow || undefined });
    }, "select", options);
  };

  Editor.prototype.callFields = function (panel, element) {
    var self = this;
    var bo = element.businessObject;
    var options = [["", t(this.root, "choose", "(choose)")]].concat(this.blocks.map(function (b) { return [b, b]; }));
    if (bo.calledElement && this.blocks.indexOf(bo.calledElement) < 0) { options.push([bo.calledElement, bo.calledElement + " ?"]); }
    this.field(panel, "calledElement", t(this.root, "buildingBlock", "Building block to call"), bo.calledElement || "", function (value) {
      self.modeling().updateProperties(element, { calledElement: value || undefined });
    }, "select", options);
  };

  Editor.prototype.decisionFields = function (panel, element) {
    var self = this;
    var bo = element.businessObject;
    var current = extension(bo, "spiffworkflow:CalledDecisionId");
    var value = current ? current.value || "" : "";
    var options = [["", t(this.root, "choose", "(choose)")]].concat(this.decisions.map(function (d) { return [d, d]; }));
    this.field(panel, "decision", t(this.root, "decision", "Decision table"), value, function (chosen) {
      self.setExtension(element, bo, "spiffworkflow:CalledDecisionId", function (moddle) {
        return chosen ? moddle.create("spiffworkflow:CalledDecisionId", { value: chosen }) : null;
      });
    }, "select", options);
  };

  Editor.prototype.timerFields = function (panel, element, definition) {
    var self = this;
    var kind = definition.timeDate ? "timeDate" : definition.timeCycle ? "timeCycle" : "timeDuration";
    var expression = (definition[kind] && definition[kind].body) || "";
    var kindInput = this.field(panel, "timerKind", t(this.root, "timerKind", "Timer"), kind, function () { apply(); }, "select", [
      ["timeDuration", t(this.root, "duration", "after a duration")], ["timeDate", t(this.root, "date", "at a date")],
      ["timeCycle", t(this.root, "cycle", "repeatedly")]]);
    var valueInput = this.field(panel, "timerValue", t(this.root, "timerValue", 'Expression, e.g. "P7D" (quotes: a fixed text)'),
                                expression, function () { apply(); });
    function apply() {
      var props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      if (valueInput.value.trim()) {
        props[kindInput.value] = self.moddle().create("bpmn:FormalExpression", { body: valueInput.value.trim() });
      }
      self.modeling().updateModdleProperties(element, definition, props);
    }
  };

  Editor.prototype.messageFields = function (panel, element, definition) {
    var self = this;
    var definitions = this.modeler.getDefinitions();
    var messages = (definitions.rootElements || []).filter(function (e) { return is(e, "bpmn:Message"); });
    var current = definition.messageRef;
    var options = [["", t(this.root, "choose", "(choose)")]].concat(messages.map(function (m) { return [m.id, m.name || m.id]; }));
    this.field(panel, "message", t(this.root, "message", "Message"), current ? current.id : "", function (value) {
      var message = messages.filter(function (m) { return m.id === value; })[0];
      self.modeling().updateModdleProperties(element, definition, { messageRef: message || undefined });
    }, "select", options);
    if (this.editable) {
      this.field(panel, "newMessage", t(this.root, "newMessage", "…or a new message named"), "", function (name) {
        name = name.trim();
        if (!name) { return; }
        var message = self.moddle().create("bpmn:Message", { id: "Message_" + name.replace(/[^A-Za-z0-9_]/g, "_"), name: name });
        message.$parent = definitions;
        self.modeling().updateModdleProperties(element, definitions, { rootElements: definitions.rootElements.concat([message]) });
        self.modeling().updateModdleProperties(element, definition, { messageRef: message });
      });
    }
    if (!is(element.businessObject, "bpmn:BoundaryEvent") && !is(element.businessObject, "bpmn:IntermediateCatchEvent") &&
        !is(element.businessObject, "bpmn:ReceiveTask")) { return; }
    // The correlation: which case a delivered message belongs to (engine/lint/linter.py: check_messages).
    var correlation = extension(definition, "spiffworkflow:ProcessVariableCorrelation");
    var property = correlation ? correlation.propertyId || "" : "";
    var caseValue = correlation ? correlation.expression || "" : "";
    var retrieval = "";
    if (current && property) {
      (definitions.rootElements || []).filter(function (e) { return is(e, "bpmn:CorrelationProperty") && e.id === property; })
        .forEach(function (prop) {
          (prop.correlationPropertyRetrievalExpression || []).forEach(function (r) {
            if (r.messageRef === current && r.messagePath) { retrieval = r.messagePath.body || ""; }
          });
        });
    }
    panel.appendChild(text("h3", t(this.root, "correlation", "Correlation key")));
    var keyInput = this.field(panel, "correlationKey", t(this.root, "correlationKey", "Key name"), property || "case_number", function () {});
    var caseInput = this.field(panel, "correlationCase", t(this.root, "correlationCase", "This case's value (expression)"),
                               caseValue || 'case["number"]', function () {});
    var messageInput = this.field(panel, "correlationMessage", t(this.root, "correlationMessage", "Value in the message (expression)"),
                                  retrieval || "case_number", function () {});
    if (!this.editable) { return; }
    var apply = text("button", t(this.root, "applyCorrelation", "Use this correlation"), { type: "button", "class": "button secondary small" });
    apply.addEventListener("click", function () {
      self.correlate(element, definition, keyInput.value.trim(), caseInput.value.trim(), messageInput.value.trim());
    });
    panel.appendChild(apply);
  };

  Editor.prototype.correlate = function (element, definition, key, caseExpression, messageExpression) {
    var moddle = this.moddle();
    var modeling = this.modeling();
    var definitions = this.modeler.getDefinitions();
    var message = definition.messageRef;
    if (!key || !message) { return; }
    var property = (definitions.rootElements || []).filter(function (e) { return is(e, "bpmn:CorrelationProperty") && e.id === key; })[0];
    var retrieval = moddle.create("bpmn:CorrelationPropertyRetrievalExpression", {
      messageRef: message, messagePath: moddle.create("bpmn:FormalExpression", { body: messageExpression }) });
    if (!property) {
      property = moddle.create("bpmn:CorrelationProperty", { id: key, name: key, correlationPropertyRetrievalExpression: [retrieval] });
      property.$parent = definitions;
      modeling.updateModdleProperties(element, definitions, { rootElements: definitions.rootElements.concat([property]) });
    } else {
      var kept = (property.correlationPropertyRetrievalExpression || []).filter(function (r) { return r.messageRef !== message; });
      modeling.updateModdleProperties(element, property, { correlationPropertyRetrievalExpression: kept.concat([retrieval]) });
    }
    this.setExtension(element, definition, "spiffworkflow:ProcessVariableCorrelation", function (m) {
      return m.create("spiffworkflow:ProcessVariableCorrelation", { propertyId: key, expression: caseExpression });
    });
  };

  // --------------------------------------------------------------------------- diagram viewers

  // Compare, process overview and test runs show a version's diagram with markers and overlays.
  function showDiagram(container) {
    var viewer = new window.BpmnJS({ container: container, moddleExtensions: { spiffworkflow: SPIFF } });
    container.classList.add("read-only");
    return request(container, container.dataset.diagramSrc, { headers: { "Accept": "*/*" } }).then(function (xml) {
      return viewer.importXML(xml);
    }).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = viewer.get("overlays");
      var markers = json(container, "markers", {});
      Object.keys(markers).forEach(function (marker) {
        (markers[marker] || []).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
      });
      var notes = json(container, "overlays", []);
      notes.forEach(function (note) {
        if (!registry.get(note.element)) { return; }
        var box = text("span", note.text, { "class": "diagram-note " + (note["class"] || ""), title: note.title || note.text });
        overlays.add(note.element, { position: note.position || { bottom: 18, left: -4 }, html: box });
      });
      canvas.zoom("fit-viewport", "auto");
      container.classList.add("diagram-ready");
      container.sagsgangViewer = viewer;
    }).catch(function (error) {
      container.classList.add("diagram-failed");
      container.setAttribute("data-error", String(error));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("modeler");
    if (root && window.BpmnJS) { new Editor(root).start(); }
    $all(".sg-diagram[data-diagram-src]").forEach(showDiagram);
  });
})();
